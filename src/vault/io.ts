// Synchronous file I/O for the vault and key files, with failures turned into IO errors.
// Node's own messages name the syscall and the path, never file content.

import { closeSync, unlinkSync, writeSync } from 'node:fs';
import { PgcloakError } from '../errors.js';

export function ioError(action: string, path: string, cause: unknown): PgcloakError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  const error = new PgcloakError('IO', `cannot ${action} ${path}: ${detail}`);
  error.cause = cause;
  return error;
}

export function errnoCode(cause: unknown): string | undefined {
  return cause instanceof Error && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
}

/** writeSync may write less than asked (a full disk, a signal): loop until it is all out. */
export function writeFully(fd: number, buf: Uint8Array, start: number, end: number): void {
  while (start < end) start += writeSync(fd, buf, start, end - start);
}

/** For cleanup after a failure: the first error is the one to report. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // nothing left to remove
  }
}
