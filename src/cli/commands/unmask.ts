// `pgcloak unmask`: the masked dump in, the original dump out, byte for byte.
import { unmaskDump } from '../../mask/run.js';
import type { DumpProcessor } from '../../mask/dump-processor.js';
import { openInput, openOutput } from '../io.js';
import { resolveKeySource, type KeyOptions } from '../keys.js';
import { Progress, printSummary } from '../report.js';

export interface UnmaskArgs extends KeyOptions {
  vault: string;
  input?: string | undefined;
  output?: string | undefined;
  quiet?: boolean | undefined;
  json?: boolean | undefined;
}

export async function unmaskCommand(args: UnmaskArgs): Promise<void> {
  const keySource = await resolveKeySource(args, false);
  const input = openInput(args.input);
  const output = openOutput(args.output);
  let processor: DumpProcessor | undefined;
  const progress = args.quiet ? undefined : new Progress('unmask', () => processor, input.size);
  const started = Date.now();
  try {
    const summary = await unmaskDump({
      input: input.stream,
      output: output.stream,
      vault: { path: args.vault, keySource },
      onStart: (p) => {
        processor = p;
      },
    });
    output.commit();
    progress?.stop();
    if (!args.quiet) {
      printSummary('unmask', summary, { seconds: (Date.now() - started) / 1000, output: output.path ?? '(stdout)' }, args.json ?? false);
    }
  } catch (err) {
    progress?.stop();
    output.abort();
    throw err;
  }
}
