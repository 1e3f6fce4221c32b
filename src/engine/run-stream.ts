// A mask or unmask run as a Node Duplex (issue 20), for `pipeline(source, createMaskStream(...),
// sink)`. The run is the very one the CLI and maskDump/unmaskDump drive (./drive.ts): this
// file only moves chunks between Node's stream machinery and the run's ChunkSource and
// Writable, with backpressure both ways. A chunk written to the stream is taken when the
// run asks for the next one (so at most one waits here), and each write of the run's output
// completes only once the readable side wants more; the run waits for its output to be
// written before it reads on, so a slow consumer stops the producer, and memory stays flat.
//
// The end is held back until the run has settled: the readable side ends and 'finish' comes
// only once the run succeeded and `commit` ran (the mask stream: the vault renamed into
// place), with the run's summary on the stream by then. A failure is the stream's one
// 'error'. destroy(), or pipeline() destroying it for another stream's failure, stops the
// run, waits until it has cleaned up (an unfinished vault removed) and runs `discard`.
// https://nodejs.org/api/stream.html#implementing-a-duplex-stream

import { Duplex, Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';
import { StatementPresence } from '../dump/statement-presence.js';
import type { ChunkSource } from '../io/chunk-source.js';

export interface RunStreamIo {
  input: ChunkSource;
  output: Writable;
}

export interface RunStreamOptions<T> {
  /** 'mask' or 'unmask': how the stream is named in its messages. */
  name: string;
  /** Starts the run over the stream's input and output; its result is the summary. */
  run: (io: RunStreamIo) => Promise<T>;
  /**
   * What the input must hold, as the CLI checks it (cli/io.ts checkedInput): any byte, or
   * an SQL statement. An empty input is most often a producer that failed.
   */
  inputHolds: 'bytes' | 'statements';
  /** Once the run succeeded, before the stream ends: puts what it wrote in place (may throw). */
  commit?: (result: T) => void;
  /** After a failure or destroy(), once the run has settled: removes what it left. */
  discard?: () => void;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export class RunStream<T> extends Duplex {
  private readonly options: RunStreamOptions<T>;
  private readonly source: WrittenChunks;
  private readonly sink: Writable;
  /** The run's last output write, held until the readable side wants more. */
  private pendingOutput: (() => void) | undefined;
  private readonly settled: Promise<Outcome<T>>;
  private outcome: Outcome<T> | undefined;
  /** _final's callback, once the input has ended. */
  private finalCallback: ((error?: Error | null) => void) | undefined;
  private committed = false;
  private result: T | undefined;

  constructor(options: RunStreamOptions<T>) {
    super();
    this.options = options;
    this.source = new WrittenChunks(options.name, options.inputHolds);
    this.sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        if (this.push(chunk)) done();
        else this.pendingOutput = done;
      },
    });
    // Its only errors are those _destroy gives it, for the run to stop on; the run may not listen yet.
    this.sink.on('error', () => undefined);
    const io: RunStreamIo = { input: this.source, output: this.sink };
    // Not called synchronously: a listener attached right after creation hears an early failure.
    this.settled = Promise.resolve()
      .then(() => options.run(io))
      .then(
        (value): Outcome<T> => ({ ok: true, value }),
        (error: unknown): Outcome<T> => ({ ok: false, error }),
      );
    void this.settled.then((outcome) => this.runSettled(outcome));
  }

  /** The run's summary, once the stream has finished (also the 'summary' event, just before 'finish'). */
  get summary(): T | undefined {
    return this.result;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.source.offer(chunk, done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.finalCallback = done;
    this.source.end();
    if (this.outcome) this.runSettled(this.outcome);
  }

  override _read(): void {
    const done = this.pendingOutput;
    this.pendingOutput = undefined;
    done?.();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const stop = error ?? new Error(`the ${this.options.name} stream was destroyed`);
    // Whatever the run waits on (the next chunk, room for its output) now fails, and it cleans up.
    this.source.fail(stop);
    if (!this.sink.destroyed) this.sink.destroy(stop);
    this.pendingOutput = undefined;
    void this.settled.then(() => {
      if (!this.committed) this.options.discard?.();
      done(error);
    });
  }

  private runSettled(outcome: Outcome<T>): void {
    this.outcome = outcome;
    // destroy() came first: _destroy reports and cleans up.
    if (this.destroyed) return;
    if (!outcome.ok) {
      this.destroy(toError(outcome.error));
      return;
    }
    // The run ends only after its input did; kept for _final if it comes later all the same.
    const done = this.finalCallback;
    if (!done) return;
    this.finalCallback = undefined;
    try {
      this.options.commit?.(outcome.value);
      this.committed = true;
    } catch (err) {
      this.destroy(toError(err));
      return;
    }
    this.result = outcome.value;
    this.emit('summary', outcome.value);
    this.push(null);
    done();
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The stream's written chunks as the run's ChunkSource: one chunk waits here at most, and
 * its write completes when the run takes it. The chunks are the writer's, never reused here.
 */
class WrittenChunks implements ChunkSource {
  private readonly name: string;
  private readonly presence: StatementPresence | undefined;
  private chunk: Buffer | undefined;
  private taken: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private bytes = 0;

  constructor(name: string, holds: 'bytes' | 'statements') {
    this.name = name;
    this.presence = holds === 'statements' ? new StatementPresence() : undefined;
  }

  offer(chunk: Buffer, taken: () => void): void {
    if (this.failure) {
      taken();
      return;
    }
    this.chunk = chunk;
    this.taken = taken;
    this.signal();
  }

  end(): void {
    this.ended = true;
    this.signal();
  }

  /** The run stops: the next read fails with `error`, and a chunk waiting is let go. */
  fail(error: Error): void {
    this.failure ??= error;
    const taken = this.taken;
    this.chunk = undefined;
    this.taken = undefined;
    taken?.();
    this.signal();
  }

  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.failure) throw this.failure;
      const chunk = this.chunk;
      if (chunk !== undefined) {
        const taken = this.taken!;
        this.chunk = undefined;
        this.taken = undefined;
        this.bytes += chunk.length;
        this.presence?.write(chunk);
        taken();
        return chunk;
      }
      if (this.ended) return this.checkedEnd();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** The run gave up (drive.ts, on an error): nothing more is read. */
  close(): Promise<void> {
    this.fail(new Error(`the ${this.name} run stopped`));
    return Promise.resolve();
  }

  /** The end of the input, refused as the CLI refuses it when it held nothing to work on. */
  private checkedEnd(): null {
    if (this.bytes > 0 && (!this.presence || this.presence.sawStatement)) return null;
    if (this.bytes === 0) {
      throw new PgcloakError(
        'INPUT_FORMAT',
        `nothing was written to the ${this.name} stream: the stream before it (pg_dump? COPY ... TO STDOUT?) most likely failed${this.nothingWritten}`,
      );
    }
    if (this.presence && !this.presence.sawStatement) {
      throw new PgcloakError(
        'INPUT_FORMAT',
        `the input holds no SQL statement, only comments and blank lines (${this.bytes} bytes): what wrote it (pg_dump?) most likely failed before its first statement${this.nothingWritten}`,
      );
    }
    return null;
  }

  private get nothingWritten(): string {
    return this.name === 'mask' ? '. No vault was written' : '';
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
