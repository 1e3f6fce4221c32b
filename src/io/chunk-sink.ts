// Where the output goes: a Writable, written chunk by chunk with backpressure. A chunk
// may come with a release callback (its memory is recycled once written); flush() waits
// until everything written so far has reached the Writable's destination.

import { WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';

export class ChunkSink {
  private readonly stream: Writable;
  /** The stream may keep chunks after their write callback (a PassThrough, a collector): recycled memory is copied for it. */
  private readonly copyRecycled: boolean;
  private outstanding = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(stream: Writable) {
    this.stream = stream;
    this.copyRecycled = !releasesOnWrite(stream);
    stream.on('error', (err) => this.fail(err));
  }

  /** Queues `chunk`; it must stay as it is until written (then `release` runs). */
  write(chunk: Buffer, release?: () => void): void {
    if (chunk.length === 0 || (release && this.copyRecycled)) {
      if (chunk.length > 0) this.write(Buffer.from(chunk));
      release?.();
      return;
    }
    this.outstanding++;
    let released = false;
    const recycle = (): void => {
      if (released) return;
      released = true;
      release?.();
    };
    try {
      this.stream.write(chunk, (err) => {
        this.outstanding--;
        if (err) this.fail(err);
        recycle();
        this.signal();
      });
      // A destination that has written it already (a file or a pipe as standard output: Node
      // writes those synchronously) leaves nothing pending: its memory can be reused now rather
      // than at the callback, a tick later. Unmask turns a chunk of input into several of
      // output, and blocks waiting for their callbacks were up to 30 MB of garbage at a time.
      if (this.stream.writableLength === 0) recycle();
    } catch (err) {
      // A synchronous stream (a file as stdout) throws where others call back.
      this.outstanding--;
      this.fail(err as Error);
      release?.();
      throw this.failure;
    }
  }

  /** Resolves once every chunk written so far is out. */
  async flush(): Promise<void> {
    while (this.outstanding > 0 && !this.failure) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    if (this.failure) throw this.failure;
  }

  /** Flushes and ends the stream (it finishes, e.g. a file is closed). */
  async end(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }

  private fail(err: Error): void {
    this.failure ??= writeError(err);
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Destinations that are done with a chunk once its write callback runs: files, standard output. */
function releasesOnWrite(stream: Writable): boolean {
  return stream instanceof WriteStream || stream === process.stdout || stream === process.stderr;
}

/**
 * A failed write as the CLI reports it: IO with the system's reason (disk full, ...). EPIPE
 * stays as it is: the reader went away (`| head`), which the CLI ends quietly.
 */
function writeError(err: Error): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (err instanceof PgcloakError || code === 'EPIPE' || code === undefined) return err;
  return new PgcloakError('IO', `cannot write the output (${code}: ${err.message.replace(/^[A-Z]+: /, '').replace(/, write$/, '')})`);
}
