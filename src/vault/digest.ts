// The digest that ties a vault to the exact masked dump it belongs to, fed chunk by chunk
// as the output is written (and as unmask reads it back).
//
// sha256-tree-1MiB (vaults from now on): the stream is cut into 1 MiB leaves, each leaf's
// SHA-256 is computed on libuv's thread pool (WebCrypto), and the digest is the SHA-256 of
// a domain tag, the leaf digests in order and the stream's length. On the no-rules path
// the digest was most of the main thread's work (BLAKE2b at 1.6 GB/s); hashing the leaves
// off the main thread leaves it a copy (measured: 1 GiB in 0.37 s on two cores).
//
// blake2b512: the whole stream through OpenSSL's BLAKE2b-512; what vaults made before
// recorded (metadata without `outputDigest`).

import { createHash, webcrypto, type Hash } from 'node:crypto';

export const TREE_DIGEST = 'sha256-tree-1MiB';
export const LEGACY_DIGEST = 'blake2b512';

export interface StreamDigest {
  update(chunk: Uint8Array): void;
  /** Waits until at most `max` leaves are being hashed (bounds memory). */
  settle(max: number): Promise<void>;
  /** Ends the stream: the digest, lower-case hex. */
  hex(): Promise<string>;
}

/** The digest a vault's metadata names (absent: the one older vaults used). */
export function streamDigest(algorithm: unknown): StreamDigest {
  if (algorithm === undefined || algorithm === LEGACY_DIGEST) return new OutputDigest();
  if (algorithm === TREE_DIGEST) return new TreeDigest();
  throw new Error(`unknown output digest ${String(algorithm)}`);
}

const LEAF_BYTES = 1024 * 1024;
const TAG = Buffer.from('pgcloak sha256-tree-1MiB\0');

export class TreeDigest implements StreamDigest {
  private leaf = Buffer.allocUnsafe(LEAF_BYTES);
  private used = 0;
  private total = 0;
  /** The root hash, fed each leaf digest in stream order as it comes back. */
  private readonly root = createHash('sha256').update(TAG);
  /** Leaf digests still on the thread pool, oldest first (memory stays flat however long the stream). */
  private readonly inFlight: Promise<ArrayBuffer>[] = [];
  private result: string | undefined;

  update(chunk: Uint8Array): void {
    if (this.result !== undefined) throw new Error('TreeDigest.update() after hex()');
    this.total += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      const n = Math.min(LEAF_BYTES - this.used, chunk.length - pos);
      this.leaf.set(chunk.subarray(pos, pos + n), this.used);
      this.used += n;
      pos += n;
      if (this.used === LEAF_BYTES) this.hashLeaf();
    }
  }

  async settle(max: number): Promise<void> {
    while (this.inFlight.length > max) this.root.update(Buffer.from(await this.inFlight.shift()!));
  }

  async hex(): Promise<string> {
    if (this.result !== undefined) return this.result;
    if (this.used > 0) this.hashLeaf();
    await this.settle(0);
    // The length goes last: the root is fed as leaves come back, before the length is known.
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(this.total));
    this.result = this.root.update(length).digest('hex');
    return this.result;
  }

  private hashLeaf(): void {
    // WebCrypto copies the data before this returns: the leaf buffer is free again at once.
    const digest = webcrypto.subtle.digest('SHA-256', this.leaf.subarray(0, this.used));
    this.inFlight.push(digest);
    digest.catch(() => undefined);
    this.used = 0;
  }
}

/** BLAKE2b-512 over the whole stream, on this thread. */
export class OutputDigest implements StreamDigest {
  private readonly hash: Hash = createHash(LEGACY_DIGEST);
  private result: string | undefined;

  update(chunk: Uint8Array): void {
    if (this.result !== undefined) throw new Error('OutputDigest.update() after hex()');
    this.hash.update(chunk);
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  hex(): Promise<string> {
    this.result ??= this.hash.digest('hex');
    return Promise.resolve(this.result);
  }
}
