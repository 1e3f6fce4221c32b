import { describe, expect, it } from 'vitest';
import { ByteGather } from '../../src/io/byte-gather.js';
import { giveBack, inPlaceMemory, lendable, lendView } from '../../src/io/in-place-memory.js';
import { ByteSink } from '../../src/io/byte-sink.js';

/** A long row gathered in place by a gathering that gives back. */
function longRow(): { gather: ByteGather; row: Buffer } {
  const gather = new ByteGather({ givesBack: true });
  const piece = Buffer.alloc(1 << 20, 'x');
  for (let i = 0; i < 17; i++) gather.append(piece, 0, piece.length);
  return { gather, row: gather.take(Buffer.from('\n')) };
}

describe('in-place memory (issue 18: long rows freed at once, not by the garbage collector)', () => {
  it('is freed when given back with no view out', () => {
    const { gather, row } = longRow();
    expect(row.length).toBe(17 * (1 << 20) + 1);
    gather.giveBack(row);
    expect(row.buffer.byteLength).toBe(0);
  });

  it('waits for every view lent to be released, each once', () => {
    const { gather, row } = longRow();
    const first = lendView(row.buffer)!;
    const second = lendView(row.buffer)!;
    gather.giveBack(row);
    first();
    first();
    expect(row.buffer.byteLength).toBe(17 * (1 << 20) + 1);
    expect(row[5]).toBe(0x78);
    second();
    expect(row.buffer.byteLength).toBe(0);
  });

  it('lends nothing of other memory, and a gathering that does not give back is left to the collector', () => {
    expect(lendView(Buffer.alloc(10).buffer)).toBeUndefined();
    const gather = new ByteGather();
    const piece = Buffer.alloc(1 << 20, 'y');
    for (let i = 0; i < 17; i++) gather.append(piece, 0, piece.length);
    const row = gather.take();
    expect(lendView(row.buffer)).toBeUndefined();
    gather.giveBack(row);
    expect(row.length).toBe(17 * (1 << 20));
  });

  it('ByteSink pushes a long stretch of it with a release, and of other memory without', () => {
    const memory = inPlaceMemory(1 << 20)!;
    memory.resize(100_000);
    lendable(memory);
    const pushed: [number, boolean][] = [];
    const releases: (() => void)[] = [];
    const sink = new ByteSink((chunk, release) => {
      pushed.push([chunk.length, release !== undefined]);
      if (release) releases.push(release);
    });
    sink.write(new Uint8Array(memory), 0, 50_000);
    sink.write(Buffer.alloc(50_000), 0, 50_000);
    expect(pushed).toEqual([
      [50_000, true],
      [50_000, false],
    ]);
    giveBack(memory);
    expect(memory.byteLength).toBe(100_000);
    releases[0]!();
    expect(memory.byteLength).toBe(0);
  });
});
