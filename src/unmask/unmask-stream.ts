// createUnmaskStream(): unmaskDump as a Node Duplex, for pipelines (issue 20; docs/library.md).
// The run is unmaskDump's own (./run.ts) over the stream's input and output
// (../engine/run-stream.ts). The vault says what the input is (a dump, or raw COPY data of
// one table, and in which form), so there is no format to give. The output is the original
// bytes; the stream ends only once the input proved to be the very masked dump the vault was
// made for (its digest), else its one 'error' is VAULT_MISMATCH.

import type { RunSummary } from '../engine/dump-processor.js';
import { RunStream } from '../engine/run-stream.js';
import { unmaskDump, type UnmaskOptions } from './run.js';

export type UnmaskStreamOptions = Omit<UnmaskOptions, 'input' | 'output'>;

export type UnmaskStream = RunStream<RunSummary>;

/** A Duplex: a masked dump written in, the original read out; `summary` set by 'finish'. */
export function createUnmaskStream(options: UnmaskStreamOptions): UnmaskStream {
  return new RunStream<RunSummary>({
    name: 'unmask',
    // As the CLI: only an empty input is refused before the vault is read; the rest is checked against it.
    inputHolds: 'bytes',
    run: ({ input, output }) => unmaskDump({ ...options, input, output }),
  });
}
