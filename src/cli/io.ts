// Files the CLI reads and writes. Outputs go to a temporary file beside the target
// and are renamed only on success, so a failed run never leaves a file that looks complete.

import { createReadStream, createWriteStream, renameSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';

export interface OutputTarget {
  stream: Writable;
  /** Where it will be once committed; undefined for stdout. */
  path: string | undefined;
  commit(): void;
  abort(): void;
}

export function openInput(path: string | undefined): { stream: Readable; size: number | undefined } {
  if (path === undefined) return { stream: process.stdin, size: undefined };
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      throw new PgcloakError('INPUT_FORMAT', `${path} is a directory (a pg_dump -Fd archive?): pipe it through pg_restore (pg_restore -f - ${path} | pgcloak mask ...)`);
    }
    size = st.size;
  } catch (err) {
    if (err instanceof PgcloakError) throw err;
    throw new PgcloakError('IO', `cannot read input file ${path}`);
  }
  return { stream: createReadStream(path, { highWaterMark: 256 * 1024 }), size };
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
