// `pgcloak unmask`: the masked dump in, the original dump out, byte for byte.
import { unmaskDump } from '../../unmask/run.js';
import { wipeKeySource, type KeySource } from '../../vault/key.js';
import { sodium } from '../../sodium.js';
import { readPseudonymKey, readVerifyKey, resolveKeySource, warnUnverifiedMaker, type KeyOptions } from '../keys.js';
import { warn } from '../report.js';
import { RunFiles } from '../run-files.js';
import { runStreams, threadCount, type StreamArgs } from '../run-streams.js';
import type { RestoreArgs } from './unmask-restore.js';

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
