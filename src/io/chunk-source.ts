// Where the input comes from, one chunk at a time. A file descriptor (a file, or a pipe
// such as `pg_dump | pgcloak`) is read into a small ring of recycled buffers, one read
// ahead, so memory does not churn with the dump's size; any other Readable is iterated.

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

const SLOTS = 3;
const SLOT_BYTES = 1024 * 1024;
/** A pipe gives at most its capacity (64 KiB) per read: keep reading until this much is in. */
const FILL_BYTES = SLOT_BYTES / 2;

export class FdSource implements ChunkSource {
  private readonly fd: number;
  private readonly slots: Buffer[] = [];
  private turn = 0;
  private ahead: Promise<Buffer | null> | undefined;
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
    const current = this.ahead ?? this.fill(this.slots[this.turn++ % SLOTS]!);
    // One read ahead, into the next slot: the one whose chunk was handed out two calls ago.
    this.ahead = current.then((chunk) => (chunk === null ? null : this.fill(this.slots[this.turn++ % SLOTS]!)));
    // Nobody may wait on the read-ahead (an error at the end): that rejection is reported by the next call.
    this.ahead.catch(() => undefined);
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
