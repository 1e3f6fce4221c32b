// What mask and unmask share on the command line: input and output opened, a progress
// line while the core runs, the output renamed into place only on success, and the
// summary printed at the end.

import { availableParallelism } from 'node:os';
import type { Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';
import type { DumpProcessor, RunSummary } from '../mask/dump-processor.js';
import { openInputSource, openOutput } from './io.js';
import type { Input } from '../mask/drive.js';
import { Progress, printSummary, type SummaryExtras } from './report.js';

export interface StreamArgs {
  input?: string | undefined;
  output?: string | undefined;
  quiet?: boolean | undefined;
  json?: boolean | undefined;
}

export interface StreamRun {
  input: Input;
  output: Writable;
  onStart: (processor: DumpProcessor) => void;
}

export async function runStreams<T extends RunSummary>(
  command: 'mask' | 'unmask',
  args: StreamArgs,
  body: (run: StreamRun) => Promise<T>,
  extras: (result: T) => Partial<SummaryExtras> = () => ({}),
): Promise<void> {
  const input = openInputSource(args.input);
  const output = openOutput(args.output);
  let processor: DumpProcessor | undefined;
  const progress = args.quiet ? undefined : new Progress(command, () => processor, input.size);
  const started = Date.now();
  try {
    const result = await body({
      input: input.input,
      output: output.stream,
      onStart: (p) => {
        processor = p;
      },
    });
    output.commit();
    progress?.stop();
    if (!args.quiet) {
      const seconds = (Date.now() - started) / 1000;
      printSummary(command, result, { seconds, output: output.path ?? '(stdout)', ...extras(result) }, args.json ?? false);
    }
  } catch (err) {
    progress?.stop();
    output.abort();
    throw err;
  }
}

/** --threads, checked; default: the CPU count. */
export function threadCount(threads: number | undefined): number {
  const n = threads ?? availableParallelism();
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new PgcloakError('USAGE', '--threads must be a whole number from 1 to 64');
  return n;
}
