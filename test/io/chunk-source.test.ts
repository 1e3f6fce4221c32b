import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FdSource } from '../../src/io/chunk-source.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function data(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 9)) & 0xff;
  return b;
}

/** Reads the whole source as its contract allows: each chunk used (copied) before the one after next is read. */
async function readAll(source: FdSource): Promise<{ bytes: Buffer; chunks: number }> {
  const parts: Buffer[] = [];
  let chunks = 0;
  for (let c = await source.next(); c !== null; c = await source.next()) {
    parts.push(Buffer.from(c));
    chunks++;
  }
  return { bytes: Buffer.concat(parts), chunks };
}

describe('FdSource', () => {
  it('reads a file exactly, in large chunks, through its ring of reused buffers', async () => {
    for (const n of [0, 1, 1024 * 1024 - 1, 1024 * 1024, 5 * 1024 * 1024 + 3]) {
      const file = join(dir, `f${n}`);
      const expected = data(n);
      writeFileSync(file, expected);
      const { bytes, chunks } = await readAll(new FdSource(openSync(file, 'r'), true));
      expect(bytes.equals(expected)).toBe(true);
      expect(chunks).toBe(Math.ceil(n / (1024 * 1024)));
    }
  });

  it('keeps a chunk intact until the call after next, whatever the reads ahead have done', async () => {
    const n = 9 * 1024 * 1024 + 5;
    const file = join(dir, 'hold');
    // Not data(): that repeats every MiB, and a slot refilled too early would look intact.
    const expected = Buffer.alloc(n);
    let x = 12345;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      expected[i] = x & 0xff;
    }
    writeFileSync(file, expected);
    const source = new FdSource(openSync(file, 'r'), true);
    // Views held without a copy: the chunk handed out by the call before stays valid too.
    let previous: { view: Buffer; at: number } | undefined;
    let at = 0;
    for (let c = await source.next(); c !== null; c = await source.next()) {
      // Let every read ahead land before looking.
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
      if (previous) expect(previous.view.equals(expected.subarray(previous.at, previous.at + previous.view.length))).toBe(true);
      expect(c.equals(expected.subarray(at, at + c.length))).toBe(true);
      previous = { view: c, at };
      at += c.length;
    }
    expect(at).toBe(n);
  });

  it('reads a pipe whose writer is slower than the reader, whole', async () => {
    const fifo = join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const expected = data(3 * 1024 * 1024 + 17);
    const file = join(dir, 'pipe-src');
    writeFileSync(file, expected);
    // A writer that trickles: dd in 64 KiB blocks through the named pipe.
    const writer = spawn('dd', [`if=${file}`, `of=${fifo}`, 'bs=65536'], { stdio: 'ignore' });
    const closed = new Promise((r) => writer.on('close', r));
    const fd = openSync(fifo, 'r');
    const { bytes } = await readAll(new FdSource(fd, false));
    closeSync(fd);
    await closed;
    expect(bytes.equals(expected)).toBe(true);
  });
});
