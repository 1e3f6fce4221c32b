// `pgcloak scan`: looks for the masked originals a vault holds anywhere in a masked dump
// and reports where (table and column, or kind of statement) and how often, never what.
// The report is this command's output (stdout); finds are an error unless --allow-leaks.

import { PgcloakError } from '../../errors.js';
import { formatLeakReport, leakReportJson } from '../../leaks/leak-report.js';
import { scanForLeaks } from '../../leaks/scan.js';
import { openInput } from '../io.js';
import { readVerifyKey, resolveKeySource, type KeyOptions } from '../keys.js';
import { wipeKeySource } from '../../vault/key.js';

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
  let report: Awaited<ReturnType<typeof scanForLeaks>>;
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
