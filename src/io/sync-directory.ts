// Making a rename durable: the directory that holds the new name synced to disk.

import { closeSync, fsyncSync, openSync } from 'node:fs';

/**
 * Syncs directory `dir` after a rename into it. Not every platform can fsync a directory
 * (Windows cannot); the renamed file is complete and synced already, so a failure here is
 * not worth an error.
 */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // see above
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // nothing was written through it
      }
    }
  }
}
