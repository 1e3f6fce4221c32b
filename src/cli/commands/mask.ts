// `pgcloak mask`: a plain dump in, the masked dump out, the originals into the vault.
import { readFileSync } from 'node:fs';
import { PgcloakError } from '../../errors.js';
import { maskDump } from '../../mask/run.js';
import type { DumpProcessor } from '../../mask/dump-processor.js';
import { parseRules } from '../../rules/rules-file.js';
import { openInput, openOutput } from '../io.js';
import { resolveKeySource, type KeyOptions } from '../keys.js';
import { Progress, printSummary, warn } from '../report.js';

export interface MaskArgs extends KeyOptions {
  rules: string;
  vault: string;
  input?: string | undefined;
  output?: string | undefined;
  strict?: boolean | undefined;
  quiet?: boolean | undefined;
  json?: boolean | undefined;
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
  const input = openInput(args.input);
  const output = openOutput(args.output);
  let processor: DumpProcessor | undefined;
  const progress = args.quiet ? undefined : new Progress('mask', () => processor, input.size);
  const started = Date.now();
  try {
    const result = await maskDump({
      input: input.stream,
      output: output.stream,
      rules,
      vault: { path: args.vault, keySource },
      strict: args.strict ?? false,
      onWarning: warn,
      onStart: (p) => {
        processor = p;
      },
    });
    output.commit();
    progress?.stop();
    if (!args.quiet) {
      printSummary(
        'mask',
        result,
        {
          seconds: (Date.now() - started) / 1000,
          output: output.path ?? '(stdout)',
          vault: args.vault,
          vaultBytes: result.vaultBytes,
        },
        args.json ?? false,
      );
    }
  } catch (err) {
    progress?.stop();
    output.abort();
    throw err;
  }
}
