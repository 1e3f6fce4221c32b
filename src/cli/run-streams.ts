// What mask and unmask share on the command line: input and output opened, a progress
// line while the core runs, the output and the vault put in place together only on
// success (run-files.ts), and the summary printed at the end.

import { availableParallelism } from 'node:os';
import type { Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';
import type { DumpProcessor, RunSummary } from '../engine/dump-processor.js';
import { checkedInput, openInputSource } from './io.js';
import type { Input } from '../engine/drive.js';
import { Progress, printSummary, type SummaryExtras } from './report.js';
import type { RunFiles } from './run-files.js';

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

export interface StreamCommand<T extends RunSummary> {
  command: 'mask' | 'unmask';
  args: StreamArgs;
  /** Checked and locked already (RunFiles.prepare); committed or aborted here. */
  files: RunFiles;
  /** What the input must hold to be taken: any byte, or an SQL statement (see io.ts checkedInput). */
  inputHolds: 'bytes' | 'statements';
  body: (run: StreamRun) => Promise<T>;
  /** The size of the vault the run wrote into files.vaultStaging. */
  vaultBytes?: (result: T) => number;
  /** Once committed, before the summary: warnings about the result. */
  afterCommit?: (result: T) => void;
  extras?: (result: T) => Partial<SummaryExtras>;
}

export async function runStreams<T extends RunSummary>(run: StreamCommand<T>): Promise<void> {
  const { args, files } = run;
  let progress: Progress | undefined;
  try {
    const input = openInputSource(args.input);
    const output = files.openOutput();
    let processor: DumpProcessor | undefined;
    progress = args.quiet ? undefined : new Progress(run.command, () => processor, input.size);
    const started = Date.now();
    const result = await run.body({
      input: checkedInput(input.input, args.input, run.inputHolds),
      output,
      onStart: (p) => {
        processor = p;
      },
    });
    files.commit(run.vaultBytes?.(result));
    progress?.stop();
    run.afterCommit?.(result);
    if (!args.quiet) {
      const seconds = (Date.now() - started) / 1000;
      printSummary(run.command, result, { seconds, output: files.outputPath ?? '(stdout)', ...run.extras?.(result) }, args.json ?? false);
    }
  } catch (err) {
    progress?.stop();
    files.abort();
    throw err;
  }
}

/** --threads, checked; default: the CPU count. */
export function threadCount(threads: number | undefined): number {
  const n = threads ?? availableParallelism();
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new PgcloakError('USAGE', '--threads must be a whole number from 1 to 64');
  return n;
}
