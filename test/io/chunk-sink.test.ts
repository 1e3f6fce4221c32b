// ChunkSink hands recycled output memory back as soon as it may be reused: at once when the
// destination has written the chunk before write() returns (a file or a pipe as standard
// output), only at the write's callback when it is still pending.
import { closeSync, createWriteStream, openSync, readFileSync, writeSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChunkSink } from '../../src/io/chunk-sink.js';

const path = join(tmpdir(), `pgcloak-chunk-sink-${process.pid}`);

type WriteFn = (chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void) => void;

/** A file stream (ChunkSink recycles its chunks) whose writes are done by `write`. */
function fileStream(fd: number, write: WriteFn): WriteStream {
  const stream = createWriteStream(path, { fd, autoClose: false });
  Object.assign(stream, { _write: write, _writev: undefined });
  return stream;
}

describe('ChunkSink', () => {
  it('recycles a chunk at once when the destination wrote it synchronously, and the bytes are the ones written', async () => {
    const fd = openSync(path, 'w');
    // Written before write() returns, as process.stdout is when it is a file.
    const sink = new ChunkSink(
      fileStream(fd, (chunk, _encoding, callback) => {
        writeSync(fd, chunk);
        callback();
      }),
    );
    // (A file stream is ready a turn after it is made; standard output is ready from the start.)
    await new Promise((resolve) => setImmediate(resolve));
    const block = Buffer.alloc(4);
    const released: string[] = [];
    for (const text of ['abcd', 'efgh', 'ijkl']) {
      block.write(text);
      sink.write(block, () => released.push(text));
      // Recycled already: the next turn overwrites the block, which must not change what was written.
      expect(released.at(-1)).toBe(text);
    }
    await sink.flush();
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe('abcdefghijkl');
    expect(released).toEqual(['abcd', 'efgh', 'ijkl']);
  });

  it('waits for the callback of a write still pending', async () => {
    const fd = openSync(path, 'w');
    // A write that stays pending until `finish` is called.
    let finish: (() => void) | undefined;
    const sink = new ChunkSink(fileStream(fd, (_chunk, _encoding, callback) => (finish = () => callback())));
    let released = false;
    sink.write(Buffer.from('abcd'), () => {
      released = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(released).toBe(false);
    finish!();
    await sink.flush();
    expect(released).toBe(true);
    closeSync(fd);
  });
});
