// `pgcloak unmask`: the masked dump in, the original dump out, byte for byte.
import { unmaskDump } from '../../mask/run.js';
import { wipeKeySource } from '../../vault/key.js';
import { sodium } from '../../vault/sodium.js';
import { readPseudonymKey, resolveKeySource, type KeyOptions } from '../keys.js';
import { runStreams, threadCount, type StreamArgs } from '../run-streams.js';
import type { RestoreArgs } from './unmask-restore.js';

export interface UnmaskArgs extends KeyOptions, StreamArgs {
  vault: string;
  pseudonymKey?: string | undefined;
  /** Into a database (--sql, --db) or by key (--by-key): see unmask-restore.ts. */
  restore?: Omit<RestoreArgs, 'vault' | 'keySource' | 'input' | 'output' | 'quiet' | 'json'>;
  /** Threads that restore rows; default: the CPU count. */
  threads?: number | undefined;
}

export async function unmaskCommand(args: UnmaskArgs): Promise<void> {
  // The database side (and its client) is loaded only when one of its options is given.
  const restore = args.restore && Object.values(args.restore).some((v) => v !== undefined && v !== false) ? await import('./unmask-restore.js') : undefined;
  if (restore && args.restore && restore.wantsRestore({ ...args.restore, input: args.input, output: args.output })) {
    // Restoring into a database never masks a row again: the pseudonym key is not needed.
    const keySource = await resolveKeySource(args, false);
    try {
      await restore.restoreCommand({ ...args.restore, vault: args.vault, keySource, input: args.input, output: args.output, quiet: args.quiet, json: args.json });
    } finally {
      wipeKeySource(keySource);
    }
    return;
  }
  const threads = threadCount(args.threads);
  const keySource = await resolveKeySource(args, false);
  let pseudonymKey: Buffer | undefined;
  try {
    pseudonymKey = readPseudonymKey(args.pseudonymKey);
    const given = pseudonymKey;
    await runStreams('unmask', args, (run) => unmaskDump({ ...run, vault: { path: args.vault, keySource }, pseudonymKey: given, threads }));
  } finally {
    wipeKeySource(keySource);
    if (pseudonymKey) sodium.sodium_memzero(pseudonymKey);
  }
}
