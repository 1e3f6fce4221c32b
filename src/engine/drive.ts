// The loop that runs a synchronous core (masker, unmasker) over a stream: read a chunk,
// process it, wait while too many batches of rows are out on worker threads, write what
// is ready, repeat. Output memory is recycled once written; the input's ring of buffers
// is safe to reuse because everything taken from a chunk is written (or copied) before
// the chunk after next is read.

import type { Readable, Writable } from 'node:stream';
import { ChunkSink } from '../io/chunk-sink.js';
import { StreamSource, type ChunkSource } from '../io/chunk-source.js';
import type { Push } from '../io/byte-sink.js';
import type { DumpProcessor } from './dump-processor.js';
import type { StreamDigest } from '../vault/digest.js';

export type Input = Readable | ChunkSource;

function sourceOf(input: Input): ChunkSource {
  return 'next' in input && typeof input.next === 'function' ? input : new StreamSource(input as Readable);
}

export interface Drive {
  /** Where the core writes its output. */
  push: Push;
  /** Runs the core over the whole input. */
  run(core: DumpProcessor): Promise<void>;
}

export interface DriveOptions {
  /** Batches of rows out on workers before reading waits. */
  maxPending: number;
  /** Fed every output chunk (mask) or every input chunk (unmask), in order; waited on each turn. */
  digest?: { stream: StreamDigest; of: 'output' | 'input' };
  /** Runs once all output is produced, before the output stream ends. */
  finish?: () => void | Promise<void>;
}

/** Leaves of the digest being hashed on the thread pool before reading waits. */
const DIGEST_IN_FLIGHT = 4;

export function drive(input: Input, output: Writable, options: DriveOptions): Drive {
  const sink = new ChunkSink(output);
  const source = sourceOf(input);
  const digest = options.digest?.stream;
  const outputDigest = options.digest?.of === 'output' ? digest : undefined;
  const inputDigest = options.digest?.of === 'input' ? digest : undefined;
  return {
    push: (chunk, release) => {
      outputDigest?.update(chunk);
      sink.write(chunk, release);
    },
    async run(core) {
      try {
        for (;;) {
          const chunk = await source.next();
          if (chunk === null) break;
          inputDigest?.update(chunk);
          try {
            core.write(chunk);
          } catch (err) {
            throw await settledError(core, err);
          }
          await core.settle(options.maxPending);
          await digest?.settle(DIGEST_IN_FLIGHT);
          await sink.flush();
        }
        try {
          core.end();
        } catch (err) {
          throw await settledError(core, err);
        }
        await core.settle(0);
        await options.finish?.();
        await sink.end();
      } catch (err) {
        await source.close?.().catch(() => undefined);
        throw err;
      }
    },
  };
}

/**
 * An error on the main thread, unless a batch of earlier rows failed first: errors are
 * reported in input order whatever the number of threads.
 */
async function settledError(core: DumpProcessor, err: unknown): Promise<unknown> {
  try {
    await core.settle(0);
  } catch (earlier) {
    return earlier;
  }
  return err;
}
