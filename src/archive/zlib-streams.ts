// Compression and decompression of archive data off the main thread: Node's zlib streams
// run deflate/inflate in libuv's thread pool, so the caller's own work on the main thread
// (masking rows) overlaps with them, and several tables of a directory archive compress at
// once. Bytes go through with backpressure on both sides: memory stays at a few chunks.
//
// The custom format holds one zlib stream per table (deflateInit, compress_io.c /
// compress_gzip.c); the directory format one gzip file per table (gzopen).
// https://github.com/postgres/postgres/blob/master/src/bin/pg_dump/compress_gzip.c

import type { Transform } from 'node:stream';
import zlib from 'node:zlib';

/** A piece of compressed input and where it starts in the archive, for error positions. */
export interface Piece {
  readonly bytes: Buffer;
  readonly offset: number;
}

/** Output chunks of inflate: large enough that each thread-pool round trip does real work. */
const INFLATE_CHUNK = 256 * 1024;
const DEFLATE_CHUNK = 64 * 1024;

export type ZlibWrapper = 'zlib' | 'gzip';

/**
 * The decompressed bytes of `pieces`. A damaged stream becomes `describe(error, offset)`,
 * where offset is the start of the first piece zlib had not finished with (or undefined when
 * the stream ended early).
 */
export function inflatePieces(pieces: AsyncIterable<Piece>, wrapper: ZlibWrapper, describe: (err: Error, offset: number | undefined) => Error): AsyncGenerator<Buffer> {
  const stream = wrapper === 'zlib' ? zlib.createInflate({ chunkSize: INFLATE_CHUNK }) : zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
  return pump(stream, pieces, describe);
}

/** The compressed bytes of `chunks` (level -1 is zlib's default, 6). */
export function deflateChunks(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, wrapper: ZlibWrapper, level: number): AsyncGenerator<Buffer> {
  const options = { level, chunkSize: DEFLATE_CHUNK };
  const stream = wrapper === 'zlib' ? zlib.createDeflate(options) : zlib.createGzip(options);
  return pump(stream, asPieces(chunks), (err) => err);
}

async function* asPieces(chunks: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Piece> {
  let offset = 0;
  for await (const bytes of chunks) {
    yield { bytes, offset };
    offset += bytes.length;
  }
}

/**
 * Feeds `input` into `stream` while the caller reads its output: the feeding runs as its own
 * task, waiting for 'drain'; the reading side's for-await applies backpressure to zlib.
 */
async function* pump(stream: Transform, input: AsyncIterable<Piece>, describe: (err: Error, offset: number | undefined) => Error): AsyncGenerator<Buffer> {
  // Pieces written whose write callback has not come: the first one is where zlib is.
  const pending: number[] = [];
  let failedAt: number | undefined;
  let inputError: unknown;
  let stop = false;
  const feeding = (async () => {
    try {
      for await (const piece of input) {
        if (stop || stream.destroyed) return;
        pending.push(piece.offset);
        const room = stream.write(piece.bytes, (err) => {
          if (err) failedAt ??= pending[0];
          else pending.shift();
        });
        if (!room) await drained(stream);
      }
      if (!stream.destroyed) stream.end();
    } catch (err) {
      inputError = err;
      stream.destroy(err as Error);
    }
  })();
  try {
    for await (const out of stream) yield out as Buffer;
  } catch (err) {
    stop = true;
    await feeding;
    if (inputError !== undefined) throw inputError;
    throw describe(err as Error, failedAt ?? pending[0]);
  } finally {
    // The caller stopped early (or failed): release zlib and let the feeder see it.
    stop = true;
    if (!stream.destroyed) stream.destroy();
    await feeding;
  }
  if (inputError !== undefined) throw inputError;
}

/** Resolves when the stream can take more, or is gone (its error reaches the reading side). */
function drained(stream: Transform): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
