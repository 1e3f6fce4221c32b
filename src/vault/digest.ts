// The digest that ties a vault to the exact masked dump it belongs to, fed chunk by chunk
// as the output is written (and as unmask reads it back).
//
// sha256-tree-1MiB (vaults from now on): the stream is cut into 1 MiB leaves, each leaf is
// hashed (SHA-256) off the main thread, and the digest is the SHA-256 of a domain tag, the
// leaf digests in order and the stream's length. Off the main thread because on the
// no-rules path the digest was most of its work (BLAKE2b at 1.6 GB/s). Three ways:
// - WebCrypto, on libuv's thread pool: no thread of our own, but WebCrypto copies each leaf
//   into fresh memory before it returns, about 0.5 s of the main thread's time per GiB;
// - threads the run already has (`{ hasher }`: the row workers hash leaves between batches);
// - a small worker thread of our own (`{ thread: true }`, when the run may use more than one
//   thread but has no workers) that hashes leaves in shared memory.
// In the last two the main thread only fills leaves, unless the hasher has fallen behind: then
// it hashes the next leaf itself as it is fed. All give the same digest.
//
// blake2b512: the whole stream through OpenSSL's BLAKE2b-512; what vaults made before
// recorded (metadata without `outputDigest`).

import { createHash, webcrypto, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export const TREE_DIGEST = 'sha256-tree-1MiB';
export const LEGACY_DIGEST = 'blake2b512';

export interface StreamDigest {
  update(chunk: Uint8Array): void;
  /** Waits until at most `max` leaves are being hashed (bounds memory). */
  settle(max: number): Promise<void>;
  /** Ends the stream: the digest, lower-case hex. */
  hex(): Promise<string>;
  /** Stops any thread of its own (after hex(), or to give up); safe to call twice. */
  close(): Promise<void>;
}

export interface DigestOptions {
  /** Hash leaves on a worker thread of its own rather than on libuv's thread pool. */
  thread?: boolean;
  /** Hash leaves with these threads (not closed with the digest); before `thread`. */
  hasher?: LeafHasher | undefined;
}

/** Threads that hash a leaf in shared memory, `leaf[0..length)`; the leaf is not touched once this settles. */
export interface LeafHasher {
  hashLeaf(leaf: SharedArrayBuffer, length: number): Promise<Uint8Array>;
}

/** What a leaf hasher computes (SHA-256), for hashers elsewhere (the row workers). */
export function leafDigest(leaf: SharedArrayBuffer, length: number): Uint8Array {
  return createHash('sha256').update(new Uint8Array(leaf, 0, length)).digest();
}

/** The digest a vault's metadata names (absent: the one older vaults used). */
export function streamDigest(algorithm: unknown, options: DigestOptions = {}): StreamDigest {
  if (algorithm === undefined || algorithm === LEGACY_DIGEST) return new OutputDigest();
  if (algorithm === TREE_DIGEST) return new TreeDigest(options);
  throw new Error(`unknown output digest ${String(algorithm)}`);
}

const LEAF_BYTES = 1024 * 1024;
/**
 * Leaves out on the hasher at which this thread hashes the next one itself, as it is fed:
 * the same digest, no copy, and no wait (drive.ts waits when more than 4 are in flight).
 */
const HASH_HERE_AT = 3;
const TAG = Buffer.from('pgcloak sha256-tree-1MiB\0');

export class TreeDigest implements StreamDigest {
  private readonly hasher: LeafHasher | undefined;
  /** The hasher is a thread of this digest's own, closed with it. */
  private readonly thread: DigestThread | undefined;
  private leaf: Buffer;
  /** The leaf being filled is hashed on this thread, as it is fed (no copy): the hasher has a backlog. */
  private here: Hash | undefined;
  /** Leaves out on the hasher, not answered yet. */
  private out = 0;
  /** Shared leaves whose digests came back, ready to be filled again (hasher only). */
  private readonly spare: Buffer[] = [];
  private used = 0;
  private total = 0;
  /** The root hash, fed each leaf digest in stream order as it comes back. */
  private readonly root = createHash('sha256').update(TAG);
  /** Leaf digests still being computed, oldest first (memory stays flat however long the stream). */
  private readonly inFlight: Promise<Uint8Array>[] = [];
  private result: string | undefined;

  constructor(options: DigestOptions = {}) {
    this.thread = !options.hasher && options.thread ? new DigestThread() : undefined;
    this.hasher = options.hasher ?? this.thread;
    this.leaf = this.nextLeaf();
  }

  update(chunk: Uint8Array): void {
    if (this.result !== undefined) throw new Error('TreeDigest.update() after hex()');
    this.total += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      // With this many leaves out, reading would soon wait for the hasher: this thread hashes the next leaf itself.
      if (this.used === 0 && this.hasher && this.out >= HASH_HERE_AT) this.here = createHash('sha256');
      const n = Math.min(LEAF_BYTES - this.used, chunk.length - pos);
      if (this.here) this.here.update(chunk.subarray(pos, pos + n));
      else this.leaf.set(chunk.subarray(pos, pos + n), this.used);
      this.used += n;
      pos += n;
      if (this.used === LEAF_BYTES) this.hashLeaf();
    }
  }

  async settle(max: number): Promise<void> {
    while (this.inFlight.length > max) this.root.update(await this.inFlight.shift()!);
  }

  async hex(): Promise<string> {
    if (this.result !== undefined) return this.result;
    if (this.used > 0) this.hashLeaf();
    await this.settle(0);
    await this.close();
    // The length goes last: the root is fed as leaves come back, before the length is known.
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(this.total));
    this.result = this.root.update(length).digest('hex');
    return this.result;
  }

  close(): Promise<void> {
    return this.thread?.close() ?? Promise.resolve();
  }

  private nextLeaf(): Buffer {
    if (!this.hasher) return Buffer.allocUnsafe(LEAF_BYTES);
    return this.spare.pop() ?? Buffer.from(new SharedArrayBuffer(LEAF_BYTES));
  }

  private hashLeaf(): void {
    let digest: Promise<Uint8Array>;
    if (this.here) {
      digest = Promise.resolve(new Uint8Array(this.here.digest()));
      this.here = undefined;
    } else if (this.hasher) {
      const leaf = this.leaf;
      digest = this.hasher.hashLeaf(leaf.buffer as SharedArrayBuffer, this.used);
      this.out++;
      // Back to the spares once hashed; a failed leaf is dropped (the run is over).
      digest.then(
        () => {
          this.out--;
          this.spare.push(leaf);
        },
        () => undefined,
      );
      this.leaf = this.nextLeaf();
    } else {
      // WebCrypto copies the data before this returns: the leaf buffer is free again at once.
      digest = webcrypto.subtle.digest('SHA-256', this.leaf.subarray(0, this.used)).then((d) => new Uint8Array(d));
    }
    this.inFlight.push(digest);
    digest.catch(() => undefined);
    this.used = 0;
  }
}

/** The digest thread's whole program: SHA-256 of leaves in shared memory, answered in order. */
const DIGEST_THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ leaf, length }) => {
  parentPort.postMessage(new Uint8Array(createHash('sha256').update(new Uint8Array(leaf, 0, length)).digest()));
});
`;

/**
 * A worker thread that hashes leaves in SharedArrayBuffers. It loads no module of ours
 * (about 10 MB of memory); it keeps the process alive only while leaves are out.
 */
class DigestThread implements LeafHasher {
  private readonly worker: Worker;
  /** Leaves out on the thread, in the order it answers. */
  private readonly out: { resolve(d: Uint8Array): void; reject(err: Error): void }[] = [];
  private failure: Error | undefined;
  private closed = false;

  constructor() {
    this.worker = new Worker(DIGEST_THREAD_SOURCE, { eval: true });
    this.worker.on('message', (digest: Uint8Array) => {
      const done = this.out.shift();
      if (done === undefined) return; // closed while a leaf was out
      if (this.out.length === 0) this.worker.unref();
      done.resolve(digest);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (this.out.length > 0) this.fail(new Error(`digest thread exited (code ${code}) with leaves outstanding`));
    });
    // After the listeners: adding a 'message' listener refs the worker's port again.
    this.worker.unref();
  }

  hashLeaf(leaf: SharedArrayBuffer, length: number): Promise<Uint8Array> {
    // Set by close() too ('digest thread closed').
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      if (this.out.length === 0) this.worker.ref();
      this.out.push({ resolve, reject });
      this.worker.postMessage({ leaf, length });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('digest thread closed'));
    await this.worker.terminate();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const o of this.out.splice(0)) o.reject(this.failure);
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

  close(): Promise<void> {
    return Promise.resolve();
  }
}
