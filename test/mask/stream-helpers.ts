// Shared by the stream API suites (mask-stream, unmask-stream): feeding chunks through
// pipeline(), collecting output, counting 'error' events, and a large generated dump.
import { readdirSync } from 'node:fs';
import { Readable, Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The chunks, one by one, as a byte stream (not object mode: the written chunks are these). */
export function chunkSource(chunks: readonly Buffer[]): Readable {
  let i = 0;
  return new Readable({
    read() {
      this.push(i < chunks.length ? chunks[i++]! : null);
    },
  });
}

/** A Writable that keeps a copy of everything written to it. */
export function collector(): { sink: Writable; bytes: () => Buffer } {
  const out: Buffer[] = [];
  return {
    sink: new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(Buffer.from(chunk));
        done();
      },
    }),
    bytes: () => Buffer.concat(out),
  };
}

/** Runs `chunks` through `stream` with pipeline(); the output, and every 'error' the stream emitted. */
export async function through(stream: Duplex, chunks: readonly Buffer[]): Promise<{ output: Buffer; errors: unknown[]; failure: unknown }> {
  const errors: unknown[] = [];
  stream.on('error', (err) => errors.push(err));
  const { sink, bytes } = collector();
  let failure: unknown;
  try {
    await pipeline(chunkSource(chunks), stream, sink);
  } catch (err) {
    failure = err;
  }
  // An 'error' emitted late (after pipeline settled) would be a second report: give it the chance.
  await new Promise((resolve) => setImmediate(resolve));
  return { output: bytes(), errors, failure };
}

/** The files of a directory, sorted: after a failure, what a run left behind. */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).sort();
}

export const LARGE_RULES = 'tables:\n  people:\n    columns:\n      email: placeholder\n';

/**
 * A plain dump of one table with `rows` rows, made as it is read (64 KiB at a time), and
 * how many bytes were read from it so far.
 */
export function largeDump(rows: number): { stream: Readable; produced: () => number } {
  const head = Buffer.from('CREATE TABLE public.people (\n    id integer NOT NULL,\n    email text,\n    note text\n);\n\nCOPY public.people (id, email, note) FROM stdin;\n');
  const tail = Buffer.from('\\.\n\n');
  let next = 1;
  let produced = 0;
  let started = false;
  const stream = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      let chunk: Buffer;
      if (!started) {
        started = true;
        chunk = head;
      } else if (next > rows) {
        if (next === rows + 1) {
          next++;
          chunk = tail;
        } else {
          this.push(null);
          return;
        }
      } else {
        const lines: string[] = [];
        let size = 0;
        while (next <= rows && size < 64 * 1024) {
          const line = `${next}\tperson${next}@example.com\tsome note about person ${next} that is not masked\n`;
          lines.push(line);
          size += line.length;
          next++;
        }
        chunk = Buffer.from(lines.join(''));
      }
      produced += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, produced: () => produced };
}

/** Resolves once `value()` has not changed for `quiet` polls in a row (the pipeline has stalled). */
export async function stalled(value: () => number, quiet = 5, everyMs = 20): Promise<void> {
  let last = -1;
  let same = 0;
  for (let polls = 0; polls < 1000 && same < quiet; polls++) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    const now = value();
    same = now === last ? same + 1 : 0;
    last = now;
  }
}
