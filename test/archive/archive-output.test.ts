// Where a custom archive goes: which outputs can be rewritten in place (so the TOC gets its
// data offsets) and which cannot, and that a file appears under its name only when finished.

import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FdOutput } from '../../src/archive/archive-output.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-archive-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('archive outputs', () => {
  it('an empty file opened for writing can seek; one opened for appending, or not empty, cannot', async () => {
    const file = path.join(dir, 'stdout.dump');
    const fd = openSync(file, 'w');
    expect((await FdOutput.fromFd(fd)).seekable).toBe(true);
    closeSync(fd);
    const appending = openSync(file, 'a');
    expect((await FdOutput.fromFd(appending)).seekable).toBe(false);
    closeSync(appending);
    writeFileSync(file, 'something');
    const used = openSync(file, 'r+');
    expect((await FdOutput.fromFd(used)).seekable).toBe(false);
    closeSync(used);
  });

  it('a pipe cannot seek', async () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Read-write: Linux opens a FIFO so without waiting for a reader.
    const fd = openSync(fifo, 'r+');
    expect((await FdOutput.fromFd(fd)).seekable).toBe(false);
    closeSync(fd);
  });

  it('writes at the end, rewrites in place, and gives the file its name only on finish', async () => {
    const file = path.join(dir, 'atomic.dump');
    const out = await FdOutput.create(file);
    await out.write(Buffer.from('header '));
    await out.write(Buffer.alloc(100_000, 0x61));
    await out.write(Buffer.from(' end'));
    expect(out.position).toBe(7 + 100_000 + 4);
    await out.writeAt(Buffer.from('HEADER'), 0);
    expect(existsSync(file)).toBe(false);
    await out.finish();
    const bytes = readFileSync(file);
    expect(bytes.subarray(0, 7).toString()).toBe('HEADER ');
    expect(bytes.length).toBe(100_011);
    expect(bytes.subarray(-4).toString()).toBe(' end');
    const aborted = await FdOutput.create(path.join(dir, 'aborted.dump'));
    await aborted.write(Buffer.from('half'));
    await aborted.abort();
    expect(readdirSync(dir).filter((f) => f.includes('aborted'))).toEqual([]);
  });
});
