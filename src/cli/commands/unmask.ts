// `pgcloak unmask`: the masked dump in, the original dump out, byte for byte.
import { unmaskDump } from '../../mask/run.js';
import { resolveKeySource, type KeyOptions } from '../keys.js';
import { runStreams, type StreamArgs } from '../run-streams.js';

export interface UnmaskArgs extends KeyOptions, StreamArgs {
  vault: string;
}

export async function unmaskCommand(args: UnmaskArgs): Promise<void> {
  const keySource = await resolveKeySource(args, false);
  await runStreams('unmask', args, (run) => unmaskDump({ ...run, vault: { path: args.vault, keySource } }));
}
