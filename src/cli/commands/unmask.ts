// `pgcloak unmask`: the masked dump in, the original dump out, byte for byte; or, with the
// restore options, the originals into a restored database (unmask-restore.ts). Its options
// map onto unmaskDump's (../../unmask/options.ts); the library is loaded when it runs.
import type { Argv } from 'yargs';
import { wipeKeySource, type KeySource } from '../../vault/key.js';
import { sodium } from '../../sodium.js';
import { readPseudonymKey, readVerifyKey, resolveKeySource, warnUnverifiedMaker, type KeyOptions } from '../keys.js';
import { warn } from '../report.js';
import { RunFiles } from '../run-files.js';
import { runStreams, threadCount, type StreamArgs } from '../run-streams.js';
import { commandModule, ioOptions, openKeyOptions, pseudonymKeyOption, threadsOption, verifyOption } from '../shared-options.js';
import type { RestoreArgs } from './unmask-restore.js';

const restoreOptions = {
  sql: { type: 'boolean', describe: 'write a SQL script that restores the originals inside a restored (and migrated) database, for psql -v ON_ERROR_STOP=1 -f' },
  db: { type: 'string', describe: 'restore the originals directly into this database (postgresql://user@host/dbname), in one transaction' },
  'by-key': { type: 'boolean', describe: 'the input is a dump of the migrated database: restore values by row key, not by position' },
  map: { type: 'string', describe: 'migration map (YAML): tables and columns renamed, converted or dropped since masking' },
  force: { type: 'boolean', describe: 'with --sql, --db, --by-key: also overwrite values edited since masking' },
  'dry-run': { type: 'boolean', describe: 'with --db or --sql: report what would change, then roll back' },
  'fire-triggers': { type: 'boolean', describe: "with --db or --sql: let the tables' own triggers fire on the restoring UPDATEs (default: switched off for them)" },
} as const;

const builder = (y: Argv) =>
  y.options({
    vault: { type: 'string', demandOption: true, describe: 'the vault written by mask' },
    threads: threadsOption('restore'),
    ...openKeyOptions,
    ...verifyOption,
    ...pseudonymKeyOption,
    ...restoreOptions,
    ...ioOptions,
  });

export const unmaskCommandModule = commandModule('unmask', 'give back the original dump: pgcloak unmask --vault V --key-file K < masked.sql > original.sql', builder, (a) =>
  unmaskCommand({
    restore: { sql: a.sql, db: a.db, byKey: a['by-key'], map: a.map, force: a.force, dryRun: a['dry-run'], fireTriggers: a['fire-triggers'] },
    vault: a.vault,
    input: a.input,
    output: a.output,
    quiet: a.quiet,
    json: a.json,
    keyFile: a['key-file'],
    passphraseEnv: a['passphrase-env'],
    recipient: a.recipient,
    identity: a.identity,
    pseudonymKey: a['pseudonym-key'],
    verify: a.verify,
    threads: a.threads,
  }),
);

export interface UnmaskArgs extends KeyOptions, StreamArgs {
  vault: string;
  pseudonymKey?: string | undefined;
  /** A public key file (`keygen --sign`, NAME.pub) that must have signed the vault. */
  verify?: string | undefined;
  /** Into a database (--sql, --db) or by key (--by-key): see unmask-restore.ts. */
  restore?: Omit<RestoreArgs, 'vault' | 'keySource' | 'verify' | 'input' | 'files' | 'quiet' | 'json'>;
  /** Threads that restore rows; default: the CPU count. */
  threads?: number | undefined;
}

export async function unmaskCommand(args: UnmaskArgs): Promise<void> {
  // The database side (and its client) is loaded only when one of its options is given.
  const restore = args.restore && Object.values(args.restore).some((v) => v !== undefined && v !== false) ? await import('./unmask-restore.js') : undefined;
  const restoring = restore !== undefined && args.restore !== undefined && restore.wantsRestore({ ...args.restore, input: args.input, output: args.output });
  const threads = restoring ? 1 : threadCount(args.threads);
  // Every file this run names, none of which --output may replace: the output holds originals.
  const files = RunFiles.prepare({
    output: args.output,
    reads: [
      { option: '--input', path: args.input },
      { option: '--vault', path: args.vault },
      { option: '--key-file', path: args.keyFile },
      { option: '--identity', path: args.identity },
      { option: '--recipient', path: args.recipient },
      { option: '--pseudonym-key', path: args.pseudonymKey },
      { option: '--map', path: args.restore?.map },
      { option: '--verify', path: args.verify },
    ],
    readsStdin: args.input === undefined && !(restoring && !args.restore?.byKey),
  });
  let keySource: KeySource | undefined;
  let pseudonymKey: Buffer | undefined;
  try {
    keySource = await resolveKeySource(args, false);
    const verify = readVerifyKey(args.verify);
    warnUnverifiedMaker(args.vault, keySource, verify);
    if (restoring) {
      // Restoring into a database never masks a row again: the pseudonym key is not needed.
      await restore.restoreCommand({ ...args.restore, vault: args.vault, keySource, verify, input: args.input, files, quiet: args.quiet, json: args.json });
      return;
    }
    pseudonymKey = readPseudonymKey(args.pseudonymKey);
    const { unmaskDump } = await import('../../unmask/run.js');
    const vault = { path: args.vault, keySource, verify };
    const given = pseudonymKey;
    await runStreams({
      command: 'unmask',
      args,
      files,
      // Only an empty input is refused before the vault is: a masked dump is checked against it.
      inputHolds: 'bytes',
      body: (run) => unmaskDump({ ...run, vault, pseudonymKey: given, threads, onWarning: warn }),
    });
  } finally {
    files.abort();
    if (keySource) wipeKeySource(keySource);
    if (pseudonymKey) sodium.sodium_memzero(pseudonymKey);
  }
}
