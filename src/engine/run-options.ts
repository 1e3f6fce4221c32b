// What mask and unmask runs share besides their cores: the vault they write or read, where
// the digest of the masked dump is hashed, and how many threads they take.

import type { Problem } from '../errors.js';
import type { DigestOptions } from '../vault/digest.js';
import type { KeySource } from '../vault/key.js';
import type { SigningKey } from '../vault/signature.js';
import { WorkerLeafHasher } from './workers/leaf-hasher.js';
import type { RowWorkers } from './workers/row-workers.js';

export interface VaultTarget {
  path: string;
  keySource: KeySource;
  /** mask: build the vault at this path and leave it there for the caller to rename into place (see VaultWriterOptions). */
  stagingPath?: string | undefined;
  /** Mask: sign the vault with this Ed25519 key (`mask --sign-key`). */
  signKey?: SigningKey | undefined;
  /** Unmask: the vault must be signed by this Ed25519 public key (`--verify NAME.pub`). */
  verify?: Buffer | undefined;
}

/**
 * Where the digest's leaves are hashed when the run may use more than one thread: by the
 * row workers between batches when there are any (the main thread bounds those runs, and it
 * costs no memory of its own), else (no rules: the main thread does everything else) on a
 * thread of its own, since WebCrypto would cost the main thread a copy of every leaf. Both
 * measured in bench/RESULTS.md (2026-12-02, third session).
 */
export function digestOptions(threads: number | undefined, workers: RowWorkers | undefined): DigestOptions {
  return { hasher: workers && new WorkerLeafHasher(workers), thread: (threads ?? 1) > 1 };
}

/** The most threads a run takes. */
export const MAX_THREADS = 64;

/** Threads of a run (default 1), checked; a problem is added under `threads`. */
export function normalizeThreads(threads: number | undefined, problems: Problem[]): number {
  const n = threads ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) problems.push({ path: 'threads', message: `must be a whole number from 1 to ${MAX_THREADS}` });
  return n;
}
