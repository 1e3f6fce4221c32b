// `pgcloak unmask`: the masked dump in, the original dump out, byte for byte.
import { unmaskDump } from '../../mask/run.js';
import { readPseudonymKey, resolveKeySource, type KeyOptions } from '../keys.js';
import { warn } from '../report.js';
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
    const keySource = await resolveKeySource(args, false);
    await restore.restoreCommand({ ...args.restore, vault: args.vault, keySource, input: args.input, output: args.output, quiet: args.quiet, json: args.json });
    return;
  }
  const threads = threadCount(args.threads);
  const keySource = await resolveKeySource(args, false);
  const pseudonymKey = readPseudonymKey(args.pseudonymKey);
  await runStreams('unmask', args, (run) => unmaskDump({ ...run, vault: { path: args.vault, keySource }, pseudonymKey, threads, onWarning: warn }));
}
