// `pgcloak scan`: looks for the masked originals a vault holds anywhere in a masked dump
// and reports where (table and column, or kind of statement) and how often, never what.
// The report is this command's output (stdout); finds are an error unless --allow-leaks.

import type { Argv } from 'yargs';
import { PgcloakError } from '../../errors.js';
import type { LeakScanResult } from '../../leaks/scan.js';
import { openInput } from '../io.js';
import { readVerifyKey, resolveKeySource, type KeyOptions } from '../keys.js';
import { commandModule, ioOptions, openKeyOptions, verifyOption } from '../shared-options.js';
import { wipeKeySource } from '../../vault/key.js';

const builder = (y: Argv) =>
  y
    .positional('dump', { type: 'string', describe: 'the masked dump (default: --input, else stdin)' })
    .options({
      vault: { type: 'string', demandOption: true, describe: 'the vault written by mask' },
      ...openKeyOptions,
      ...verifyOption,
      input: ioOptions.input,
      'allow-leaks': { type: 'boolean', describe: 'report finds but exit 0' },
      json: { type: 'boolean', describe: 'print the report as JSON' },
    });

export const scanCommandModule = commandModule(
  'scan [dump]',
  'look for the masked originals of a vault anywhere in a masked dump: pgcloak scan --vault V --key-file K masked.sql',
  builder,
  (a) => {
    if (a.dump !== undefined && a.input !== undefined) throw new PgcloakError('USAGE', 'give the dump once: as an argument or with --input');
    return scanCommand({
      vault: a.vault,
      input: a.dump ?? a.input,
      allowLeaks: a['allow-leaks'],
      json: a.json,
      keyFile: a['key-file'],
      passphraseEnv: a['passphrase-env'],
      recipient: a.recipient,
      identity: a.identity,
      verify: a.verify,
    });
  },
);

export interface ScanArgs extends KeyOptions {
  vault: string;
  input?: string | undefined;
  allowLeaks?: boolean | undefined;
  json?: boolean | undefined;
  /** A public key file (`keygen --sign`, NAME.pub) that must have signed the vault. */
  verify?: string | undefined;
}

export async function scanCommand(args: ScanArgs): Promise<void> {
  const keySource = await resolveKeySource(args, false);
  const { scanForLeaks } = await import('../../leaks/scan.js');
  const { formatLeakReport, leakReportJson } = await import('../../leaks/leak-report.js');
  let report: LeakScanResult;
  try {
    const verify = readVerifyKey(args.verify);
    const input = openInput(args.input);
    report = await scanForLeaks({ input: input.stream, vaultPath: args.vault, keySource, verify });
  } finally {
    wipeKeySource(keySource);
  }
  process.stdout.write(args.json ? `${JSON.stringify(leakReportJson(report))}\n` : formatLeakReport('scan', report));
  if (report.places.length > 0 && !args.allowLeaks) throw leaksFound(report.places.length, report.finds);
}

export function leaksFound(places: number, finds: number): PgcloakError {
  return new PgcloakError(
    'LEAKS_FOUND',
    `masked original values appear in ${places} place(s) of the masked output (${finds} find(s)); see the report. Mask those columns too, or pass --allow-leaks to accept`,
  );
}
