// Files the CLI reads and writes. Outputs go to a temporary file beside the target
// and are renamed only on success, so a failed run never leaves a file that looks complete.

import { createReadStream, createWriteStream, fstatSync, openSync, renameSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';
import { FdSource } from '../io/chunk-source.js';
import type { Input } from '../mask/drive.js';

export interface OutputTarget {
  stream: Writable;
  /** Where it will be once committed; undefined for stdout. */
  path: string | undefined;
  commit(): void;
  abort(): void;
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

export function openOutput(path: string | undefined): OutputTarget {
  if (path === undefined) {
    return { stream: process.stdout, path: undefined, commit: () => undefined, abort: () => undefined };
  }
  const tmp = `${path}.tmp-${process.pid}`;
  const stream: WriteStream = createWriteStream(tmp, { flags: 'wx', highWaterMark: 256 * 1024 });
  return {
    stream,
    path,
    commit() {
      renameSync(tmp, path);
    },
    abort() {
      stream.destroy();
      try {
        unlinkSync(tmp);
      } catch {
        // never created, or already gone
      }
    },
  };
}
