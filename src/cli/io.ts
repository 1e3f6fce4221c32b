// The files the CLI reads (what it writes: run-files.ts), and the check that an input
// holds something: an empty one is most often a producer that failed (`pg_dump db | ...`).

import { createReadStream, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { StatementPresence } from '../dump/statement-presence.js';
import { PgcloakError } from '../errors.js';
import { FdSource, StreamSource, type ChunkSource } from '../io/chunk-source.js';
import type { Input } from '../engine/drive.js';

/** A small text file the run needs whole (rules, a schema, a migration map): `what` names it in the error. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new PgcloakError('IO', `cannot read ${what} ${path}`);
  }
}

/** Input streams read chunks this large. */
const READ_CHUNK = 1024 * 1024;

/** The input as a Readable, for commands that pipe it through stream stages. */
export function openInput(path: string | undefined): { stream: Readable; size: number | undefined } {
  if (path === undefined) return { stream: process.stdin, size: undefined };
  const size = inputSize(path);
  return { stream: createReadStream(path, { highWaterMark: READ_CHUNK }), size };
}

/**
 * The input for mask and unmask: a file, or standard input when it is a file or a pipe,
 * read directly into recycled buffers (see io/chunk-source.ts); a terminal or a socket
 * goes through process.stdin.
 */
export function openInputSource(path: string | undefined): { input: Input; size: number | undefined } {
  if (path !== undefined) {
    const size = inputSize(path);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      throw new PgcloakError('IO', `cannot read input file ${path}`);
    }
    return { input: new FdSource(fd, true), size };
  }
  let st;
  try {
    st = fstatSync(0);
  } catch {
    return { input: process.stdin, size: undefined };
  }
  if (!st.isFile() && !st.isFIFO()) return { input: process.stdin, size: undefined };
  return { input: new FdSource(0, false), size: st.isFile() ? st.size : undefined };
}

function inputSize(path: string): number {
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      throw new PgcloakError('INPUT_FORMAT', `${path} is a directory (a pg_dump -Fd archive?): pipe it through pg_restore (pg_restore -f - ${path} | pgcloak mask ...)`);
    }
    return st.size;
  } catch (err) {
    if (err instanceof PgcloakError) throw err;
    throw new PgcloakError('IO', `cannot read input file ${path}`);
  }
}

/**
 * The input, refused at its end when it held nothing (`holds: 'bytes'`), or nothing but
 * blank space and comments (`holds: 'statements'`, a plain dump): INPUT_FORMAT, raised by
 * the source itself so that it comes before anything the run would report at the end.
 */
export function checkedInput(input: Input, path: string | undefined, holds: 'bytes' | 'statements'): ChunkSource {
  const source: ChunkSource = input instanceof Readable ? new StreamSource(input) : input;
  const presence = holds === 'statements' ? new StatementPresence() : undefined;
  let bytes = 0;
  const from = path === undefined ? 'standard input' : path;
  return {
    async next() {
      const chunk = await source.next();
      if (chunk !== null) {
        bytes += chunk.length;
        presence?.write(chunk);
        return chunk;
      }
      if (bytes === 0) {
        throw new PgcloakError(
          'INPUT_FORMAT',
          path === undefined
            ? 'nothing was read from standard input: the command before the pipe (pg_dump?) most likely failed; see its messages. No vault was written'
            : `${path} is empty: nothing to read (did the command that wrote it, pg_dump?, fail?). No vault was written`,
        );
      }
      if (presence && !presence.sawStatement) {
        throw new PgcloakError(
          'INPUT_FORMAT',
          `${from} holds no SQL statement, only comments and blank lines (${bytes} bytes): the command that wrote it (pg_dump?) most likely failed before its first statement. No vault was written`,
        );
      }
      return null;
    },
    close: () => source.close?.() ?? Promise.resolve(),
  };
}
