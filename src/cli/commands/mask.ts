// `pgcloak mask`: a plain dump in, the masked dump out, the originals into the vault.
import { readFileSync } from 'node:fs';
import { PgcloakError } from '../../errors.js';
import { maskDump } from '../../mask/run.js';
import { parseRules } from '../../rules/rules-file.js';
import { resolveKeySource, type KeyOptions } from '../keys.js';
import { warn } from '../report.js';
import { runStreams, type StreamArgs } from '../run-streams.js';

export interface MaskArgs extends KeyOptions, StreamArgs {
  rules: string;
  vault: string;
  strict?: boolean | undefined;
}

export async function maskCommand(args: MaskArgs): Promise<void> {
  let rulesText: string;
  try {
    rulesText = readFileSync(args.rules, 'utf8');
  } catch {
    throw new PgcloakError('IO', `cannot read rules file ${args.rules}`);
  }
  const rules = parseRules(rulesText);
  const keySource = await resolveKeySource(args, true);
  await runStreams(
    'mask',
    args,
    (run) =>
      maskDump({
        ...run,
        rules,
        vault: { path: args.vault, keySource },
        strict: args.strict ?? false,
        onWarning: warn,
      }),
    (result) => ({ vault: args.vault, vaultBytes: result.vaultBytes }),
  );
}
