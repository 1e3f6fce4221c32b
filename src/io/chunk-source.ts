// Where the input comes from, one chunk at a time. A file descriptor (a file, or a pipe
// such as `pg_dump | pgcloak`) is read into a small ring of recycled buffers, two reads
// ahead, so memory does not churn with the dump's size; any other Readable is iterated.
// Two, not one: a read's trip through libuv's thread pool and back through the event loop
// often took longer than masking a chunk without rules (1 GiB: 0.7 s of waiting for reads).

import { closeSync, read } from 'node:fs';
import type { Readable } from 'node:stream';

export interface ChunkSource {
  /**
   * The next chunk, or null at the end. A chunk's memory is reused two calls later: by
   * then the caller must have written (or copied) whatever of it it kept.
   */
  next(): Promise<Buffer | null>;
  /** Stops early (an error): releases what the source holds. */
  close?(): Promise<void>;
}

/** Reads in flight ahead of the chunk handed out. */
const AHEAD = 2;
/** The chunks in flight, the one handed out, and the one before it (which the caller may still hold). */
const SLOTS = AHEAD + 2;
const SLOT_BYTES = 1024 * 1024;
/** A pipe gives at most its capacity (64 KiB) per read: keep reading until this much is in. */
const FILL_BYTES = SLOT_BYTES / 2;

export class FdSource implements ChunkSource {
  private readonly fd: number;
  private readonly slots: Buffer[] = [];
  private turn = 0;
  /** Reads started, oldest first: each begins once the one before has ended (fd reads are sequential). */
  private readonly ahead: Promise<Buffer | null>[] = [];
  private ended = false;
  private readonly ownsFd: boolean;
  private closed = false;

  /** `ownsFd`: close the descriptor at the end (a file opened for this run; not standard input). */
  constructor(fd: number, ownsFd: boolean) {
    this.fd = fd;
    this.ownsFd = ownsFd;
    for (let i = 0; i < SLOTS; i++) this.slots.push(Buffer.allocUnsafe(SLOT_BYTES));
  }

  next(): Promise<Buffer | null> {
    if (this.ahead.length === 0) this.ahead.push(this.fill(this.slots[this.turn++ % SLOTS]!));
    const current = this.ahead.shift()!;
    // Reads ahead, each into the next slot once the one before has ended: the slot reused
    // is the one whose chunk was handed out two calls ago.
    while (this.ahead.length < AHEAD) {
      const last = this.ahead[this.ahead.length - 1] ?? current;
      const more = last.then((chunk) => (chunk === null ? null : this.fill(this.slots[this.turn++ % SLOTS]!)));
      // Nobody may wait on a read-ahead (an error at the end): that rejection is reported by a later call.
      more.catch(() => undefined);
      this.ahead.push(more);
    }
    return current;
  }

  async close(): Promise<void> {
    this.ended = true;
    if (!this.ownsFd || this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // already gone
    }
  }

  private async fill(slot: Buffer): Promise<Buffer | null> {
    let filled = 0;
    while (!this.ended && filled < FILL_BYTES) {
      const n = await readSome(this.fd, slot, filled, slot.length - filled);
      if (n === 0) {
        this.ended = true;
        await this.close();
      }
      filled += n;
    }
    return filled === 0 ? null : slot.subarray(0, filled);
  }
}

function readSome(fd: number, buf: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      read(fd, buf, offset, length, null, (err, n) => {
        // A non-blocking pipe with nothing in it yet: try again shortly.
        if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') setTimeout(attempt, 1);
        else if (err) reject(err);
        else resolve(n);
      });
    };
    attempt();
  });
}

/** Any Readable: its chunks are its own, never reused. */
export class StreamSource implements ChunkSource {
  private readonly iterator: AsyncIterator<Buffer | string>;

  constructor(stream: Readable) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  async next(): Promise<Buffer | null> {
    const r = await this.iterator.next();
    if (r.done) return null;
    return typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  }

  /** Stops reading early (an error): destroys the stream. */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}
