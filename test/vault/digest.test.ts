import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputDigest, TreeDigest, leafDigest, streamDigest, TREE_DIGEST, type LeafHasher } from '../../src/vault/digest.js';
import { WorkerLeafHasher } from '../../src/engine/workers/leaf-hasher.js';
import { RowWorkers } from '../../src/engine/workers/row-workers.js';
import { sodium } from '../../src/sodium.js';

// BLAKE2b-512 test values: "abc" from RFC 7693, appendix A; the empty string from the
// reference implementation (b2sum).
const EMPTY =
  '786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce';
const ABC =
  'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923';

const MiB = 1024 * 1024;

/** The tree digest computed the plain way, from its definition. */
function treeByDefinition(data: Uint8Array): string {
  const root = createHash('sha256').update(Buffer.from('pgcloak sha256-tree-1MiB\0'));
  for (let at = 0; at < data.length; at += MiB) root.update(createHash('sha256').update(data.subarray(at, at + MiB)).digest());
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(data.length));
  return root.update(length).digest('hex');
}

/** The digest of `data` fed in pieces cut at `cuts`, waiting after each until at most `max` leaves are out. */
async function digestInPieces(digest: TreeDigest | OutputDigest, data: Uint8Array, cuts: number[], max = 1): Promise<string> {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, data.length]) {
    digest.update(data.subarray(from, to));
    await digest.settle(max);
    from = to;
  }
  return digest.hex();
}

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('OutputDigest (BLAKE2b-512, vaults without outputDigest)', () => {
  it('matches known BLAKE2b-512 values and libsodium, however the stream is cut', async () => {
    expect(await new OutputDigest().hex()).toBe(EMPTY);
    const abc = new OutputDigest();
    abc.update(Buffer.from('ab'));
    abc.update(Buffer.from('c'));
    expect(await abc.hex()).toBe(ABC);
    expect(() => abc.update(Buffer.from('d'))).toThrow();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(3000), { maxLength: 10 }), async (data, cuts) => {
        const expected = Buffer.alloc(64);
        sodium.crypto_generichash(expected, data);
        expect(await digestInPieces(new OutputDigest(), data, cuts)).toBe(expected.toString('hex'));
      }),
    );
  });
});

describe('TreeDigest (sha256-tree-1MiB)', () => {
  it('is SHA-256 over the tag, the 1 MiB leaves and the length, for empty, short and multi-leaf streams', async () => {
    for (const n of [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 12345]) {
      const data = bytes(n, n + 1);
      const d = new TreeDigest();
      d.update(data);
      expect(await d.hex()).toBe(treeByDefinition(data));
    }
  });

  it('does not depend on how the stream is cut', async () => {
    const data = bytes(2 * MiB + 777, 42);
    const expected = treeByDefinition(data);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(data.length), { maxLength: 12 }), async (cuts) => {
        expect(await digestInPieces(new TreeDigest(), data, cuts)).toBe(expected);
      }),
      { numRuns: 20 },
    );
  });

  it('tells apart streams that differ in one byte or only in length', async () => {
    const data = bytes(MiB + 10, 7);
    const other = Buffer.from(data);
    other[MiB + 3]! ^= 1;
    const a = new TreeDigest();
    a.update(data);
    const b = new TreeDigest();
    b.update(other);
    const c = new TreeDigest();
    c.update(Buffer.concat([data, Buffer.alloc(1)]));
    const hashes = new Set([await a.hex(), await b.hex(), await c.hex()]);
    expect(hashes.size).toBe(3);
    expect(() => a.update(Buffer.from('x'))).toThrow();
  });

  it('gives the same digest on its own thread as on the thread pool, however the stream is cut', async () => {
    for (const n of [0, 1, MiB, 3 * MiB + 12345]) {
      const data = bytes(n, n + 3);
      const d = new TreeDigest({ thread: true });
      d.update(data);
      expect(await d.hex()).toBe(treeByDefinition(data));
      await d.close(); // again: a no-op
    }
    const data = bytes(5 * MiB + 99, 11);
    const expected = treeByDefinition(data);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(data.length), { maxLength: 12 }), fc.nat(6), async (cuts, max) => {
        // settle(max) with few or many leaves out: the thread's leaves are refilled only once back.
        expect(await digestInPieces(new TreeDigest({ thread: true }), data, cuts, max)).toBe(expected);
      }),
      { numRuns: 15 },
    );
  });

  it('with threads the run has (a LeafHasher): the same digest, whatever order leaves come back in', async () => {
    const data = bytes(6 * MiB + 4321, 17);
    const expected = treeByDefinition(data);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(data.length), { maxLength: 10 }), fc.nat(6), fc.array(fc.nat(5), { minLength: 8, maxLength: 8 }), async (cuts, max, delays) => {
        const hasher = new SlowHasher(delays);
        expect(await digestInPieces(new TreeDigest({ hasher }), data, cuts, max)).toBe(expected);
        // A leaf was filled again only after its digest was in.
        expect(hasher.overwritten).toBe(0);
        // Never more than 3 leaves out: the digest hashes the next ones itself meanwhile.
        expect(hasher.calls).toBeGreaterThanOrEqual(Math.min(3, Math.ceil(data.length / MiB)));
        expect(hasher.maxOut).toBeLessThanOrEqual(3);
      }),
      { numRuns: 15 },
    );
  });

  it('with a LeafHasher that falls behind: hashes the next leaves itself, the same digest', async () => {
    const data = bytes(9 * MiB + 5, 29);
    const stuck = new StuckHasher();
    const d = new TreeDigest({ hasher: stuck });
    // All in one go: the hasher answers nothing meanwhile.
    d.update(data);
    expect(stuck.held.length).toBe(3);
    stuck.release();
    expect(await d.hex()).toBe(treeByDefinition(data));
    // A hasher that keeps up gets every leaf.
    const quick = new SlowHasher([0]);
    const e = new TreeDigest({ hasher: quick });
    for (let i = 0; i < data.length; i += MiB) {
      e.update(data.subarray(i, i + MiB));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await e.hex()).toBe(treeByDefinition(data));
    expect(quick.calls).toBe(Math.ceil(data.length / MiB));
  });

  it('with a LeafHasher: a leaf that fails fails the digest, and the hasher is not closed with it', async () => {
    const failing: LeafHasher = { hashLeaf: () => Promise.reject(new Error('hasher broke')) };
    const d = new TreeDigest({ hasher: failing });
    d.update(bytes(2 * MiB, 3));
    await expect(d.settle(0)).rejects.toThrow('hasher broke');
    const hasher = new SlowHasher([0]);
    const e = new TreeDigest({ hasher, thread: true });
    e.update(bytes(10, 2));
    expect(await e.hex()).toBe(treeByDefinition(bytes(10, 2)));
    await e.close();
    expect(hasher.calls).toBe(1);
  });

  it('with the row workers as its hasher: the digest of the definition, with one or several workers', async () => {
    const data = bytes(5 * MiB + 7, 23);
    for (const n of [1, 3]) {
      const workers = new RowWorkers(n, undefined);
      try {
        const d = new TreeDigest({ hasher: new WorkerLeafHasher(workers) });
        for (let at = 0; at < data.length; at += 700_000) {
          d.update(data.subarray(at, at + 700_000));
          await d.settle(2);
        }
        expect(await d.hex()).toBe(treeByDefinition(data));
      } finally {
        await workers.close();
      }
    }
    // Leaves out when the workers stop are refused, not left waiting.
    const workers = new RowWorkers(1, undefined);
    const d = new TreeDigest({ hasher: new WorkerLeafHasher(workers) });
    d.update(bytes(3 * MiB, 4));
    // Expected before close() is awaited: it refuses the work at once, then waits for the workers to wipe their keys and exit.
    const refused = expect(d.settle(0)).rejects.toThrow(/exited|closed|terminat/);
    await workers.close();
    await refused;
  });

  it('on its own thread: close() gives up a stream and its leaves in flight', async () => {
    const d = new TreeDigest({ thread: true });
    d.update(bytes(4 * MiB, 5));
    await d.close();
    await expect(d.settle(0)).rejects.toThrow(/closed/);
    const e = streamDigest(TREE_DIGEST, { thread: true });
    e.update(bytes(10, 1));
    await e.close();
  });

  it('on its own thread: does not keep a process alive once no leaf is out, closed or not', () => {
    // The built module (worker threads need compiled code): run by `npm test` after its build.
    const built = fileURLToPath(new URL('../../dist/vault/digest.js', import.meta.url));
    for (const body of ['', 'd.update(Buffer.alloc(3 << 20, 1));', 'd.update(Buffer.alloc(10)); await d.settle(0);']) {
      // A script file, not -e: a worker unref'd too early kept the one alive and not the other.
      const script = join(mkdtempSync(join(tmpdir(), 'pgcloak-digest-')), 'run.mjs');
      writeFileSync(script, `import { TreeDigest } from ${JSON.stringify(built)}; const d = new TreeDigest({ thread: true }); ${body} console.log('end');`);
      const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
      rmSync(dirname(script), { recursive: true });
      expect({ body, status: child.status, signal: child.signal, stdout: child.stdout }).toEqual({ body, status: 0, signal: null, stdout: 'end\n' });
    }
  });

  it('is what a vault metadata names; older vaults get BLAKE2b-512', () => {
    expect(streamDigest(TREE_DIGEST)).toBeInstanceOf(TreeDigest);
    expect(streamDigest(undefined)).toBeInstanceOf(OutputDigest);
    expect(streamDigest('blake2b512')).toBeInstanceOf(OutputDigest);
    expect(() => streamDigest('md5')).toThrow();
  });
});

/**
 * A LeafHasher that answers after a few event-loop turns (so out of order), and checks that
 * a leaf's bytes stay as they were until its digest is in.
 */
class SlowHasher implements LeafHasher {
  calls = 0;
  overwritten = 0;
  /** The most leaves out at once. */
  maxOut = 0;
  private out = 0;
  private readonly delays: number[];

  constructor(delays: number[]) {
    this.delays = delays;
  }

  async hashLeaf(leaf: SharedArrayBuffer, length: number): Promise<Uint8Array> {
    expect(leaf).toBeInstanceOf(SharedArrayBuffer);
    const before = Buffer.from(new Uint8Array(leaf, 0, length));
    const turns = this.delays[this.calls++ % this.delays.length]!;
    this.maxOut = Math.max(this.maxOut, ++this.out);
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
    this.out--;
    if (!before.equals(new Uint8Array(leaf, 0, length))) this.overwritten++;
    return leafDigest(leaf, length);
  }
}

/** A LeafHasher that answers nothing until release(). */
class StuckHasher implements LeafHasher {
  held: { leaf: SharedArrayBuffer; length: number; resolve: (d: Uint8Array) => void }[] = [];
  hashLeaf(leaf: SharedArrayBuffer, length: number): Promise<Uint8Array> {
    return new Promise((resolve) => this.held.push({ leaf, length, resolve }));
  }
  release(): void {
    for (const h of this.held.splice(0)) h.resolve(leafDigest(h.leaf, h.length));
  }
}
