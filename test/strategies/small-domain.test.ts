// small-domain, the keyed shuffles behind pseudonyms of small shapes: every table a
// permutation of its domain, the one the header describes (checked against a reference
// written from that description: a BLAKE2b key per domain, ChaCha20 words, Fisher–Yates with
// Lemire's unbiased draws), every permutation as likely as any other, tables kept per key and
// tweak, least recently used out first, zeroed when dropped.
import { createCipheriv } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { CACHE_BYTES, SMALL_DOMAIN_LIMIT, forgetShuffles, shuffleCacheBytes, shuffledDomain } from '../../src/strategies/small-domain.js';

const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_generichash(out: Buffer, input: Buffer, key: Buffer): void;
};

const KEY = Buffer.alloc(32, 0x11);
const TWEAK = Buffer.from('tweak');
const used: Buffer[] = [];

function keyNumber(n: number): Buffer {
  const key = Buffer.alloc(32, 0x5a);
  key.writeUInt32BE(n, 0);
  used.push(key);
  return key;
}

afterEach(() => {
  for (const key of [KEY, ...used.splice(0)]) forgetShuffles(key);
  expect(shuffleCacheBytes()).toBe(0);
});

/**
 * The shuffle as the header of small-domain.ts describes it, written apart: the domain's key
 * is BLAKE2b-256 keyed by the secret of 'S', the size (u32, big-endian) and the tweak; its
 * ChaCha20 stream (zero nonce; OpenSSL's here, libsodium's there) read as little-endian
 * 32-bit words; Fisher–Yates from the top, j drawn by Lemire's multiply-and-reject.
 */
function referenceShuffle(secret: Buffer, tweak: Buffer, size: number): number[] {
  const key = Buffer.alloc(32);
  const message = Buffer.alloc(5 + tweak.length);
  message[0] = 0x53;
  message.writeUInt32BE(size, 1);
  tweak.copy(message, 5);
  sodium.crypto_generichash(key, message, secret);
  const stream = createCipheriv('chacha20', key, Buffer.alloc(16));
  let words = Buffer.alloc(0);
  let at = 0;
  const next = (): bigint => {
    if (at === words.length) {
      words = stream.update(Buffer.alloc(4096));
      at = 0;
    }
    const w = BigInt(words.readUInt32LE(at));
    at += 4;
    return w;
  };
  const table = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const n = BigInt(i + 1);
    const threshold = ((1n << 32n) - n) % n;
    let m = next() * n;
    while ((m & 0xffffffffn) < threshold) m = next() * n;
    const j = Number(m >> 32n);
    [table[i], table[j]] = [table[j]!, table[i]!];
  }
  return table;
}

describe('shuffledDomain', () => {
  it('is a permutation of 0..size-1 in the smallest array that holds it', () => {
    for (const [size, kind] of [
      [0, Uint8Array], [1, Uint8Array], [2, Uint8Array], [256, Uint8Array], [257, Uint16Array],
      [65536, Uint16Array], [65537, Uint32Array], [SMALL_DOMAIN_LIMIT - 1, Uint32Array],
    ] as const) {
      const table = shuffledDomain(KEY, TWEAK, size);
      expect({ size, kind: table.constructor.name, length: table.length }).toEqual({ size, kind: kind.name, length: size });
      const seen = new Uint8Array(size);
      for (const x of table) seen[x] = 1;
      expect(seen.every((s) => s === 1), `size ${size}`).toBe(true);
    }
  });

  it('is the shuffle its header describes (a reference written apart), across ChaCha20 refills too', () => {
    for (const size of [2, 3, 10, 1000, 5000]) {
      expect({ size, table: Array.from(shuffledDomain(KEY, TWEAK, size)) }).toEqual({ size, table: referenceShuffle(KEY, TWEAK, size) });
    }
    expect(Array.from(shuffledDomain(keyNumber(1), Buffer.alloc(0), 10))).toEqual(referenceShuffle(keyNumber(1), Buffer.alloc(0), 10));
  });

  it('gives another table under another key, tweak or size, and the same one again after it was forgotten', () => {
    const a = Array.from(shuffledDomain(KEY, TWEAK, 1000));
    expect(Array.from(shuffledDomain(keyNumber(2), TWEAK, 1000))).not.toEqual(a);
    expect(Array.from(shuffledDomain(KEY, Buffer.from('tweak2'), 1000))).not.toEqual(a);
    expect(Array.from(shuffledDomain(KEY, TWEAK, 1001)).slice(0, 1000)).not.toEqual(a);
    forgetShuffles(KEY);
    expect(Array.from(shuffledDomain(KEY, TWEAK, 1000))).toEqual(a);
    // The values come from the key's bytes: a copy (cached apart, by identity) gets the same table.
    const copy = Buffer.from(KEY);
    used.push(copy);
    expect(Array.from(shuffledDomain(copy, TWEAK, 1000))).toEqual(a);
  });

  it('makes every permutation equally likely: all 24 of four values over 2400 keys', () => {
    const counts = new Map<string, number>();
    for (let k = 0; k < 2400; k++) {
      const key = keyNumber(k);
      const p = Array.from(shuffledDomain(key, TWEAK, 4)).join('');
      counts.set(p, (counts.get(p) ?? 0) + 1);
      forgetShuffles(key);
    }
    expect(counts.size).toBe(24);
    // Pearson's chi-squared over 24 cells of 100 expected: 23 degrees of freedom, above 49.7
    // one time in 1000 for a fair shuffle; a modulo-biased draw would be far above.
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - 100) ** 2 / 100, 0);
    expect(chi2).toBeLessThan(49.7);
  });
});

describe('the table cache', () => {
  it('gives back the table it keeps, counts its bytes, and zeroes it when the key is forgotten', () => {
    const before = shuffleCacheBytes();
    const t = shuffledDomain(KEY, TWEAK, 1000);
    expect(shuffleCacheBytes() - before).toBe(2000); // Uint16Array of 1000
    expect(shuffledDomain(KEY, Buffer.from('other'), 10)).not.toBe(t);
    expect(shuffledDomain(KEY, TWEAK, 1000)).toBe(t);
    expect(shuffleCacheBytes() - before).toBe(2010);
    forgetShuffles(KEY);
    expect(t.every((x) => x === 0)).toBe(true);
    expect(shuffleCacheBytes()).toBe(before);
    expect(shuffledDomain(KEY, TWEAK, 1000)).not.toBe(t);
  });

  it('forgets only the tables of the key it is given', () => {
    const other = keyNumber(7);
    const mine = shuffledDomain(KEY, TWEAK, 300);
    const theirs = shuffledDomain(other, TWEAK, 300);
    const copy = Array.from(theirs);
    forgetShuffles(KEY);
    expect(mine.every((x) => x === 0)).toBe(true);
    expect(Array.from(theirs)).toEqual(copy);
    expect(shuffledDomain(other, TWEAK, 300)).toBe(theirs);
  });

  it('stays within CACHE_BYTES, dropping (and zeroing) the least recently used table first', () => {
    // Tables of 999 999 values take 4 MB: 8 fit in 32 MiB, a 9th drops one.
    const size = SMALL_DOMAIN_LIMIT - 1;
    expect(Math.floor(CACHE_BYTES / (4 * size))).toBe(8);
    const tweak = (i: number): Buffer => Buffer.from(`t${i}`);
    const tables = Array.from({ length: 8 }, (_, i) => shuffledDomain(KEY, tweak(i), size));
    const firstCopy = Array.from(tables[1]!.subarray(0, 100));
    expect(shuffleCacheBytes()).toBe(8 * 4 * size);
    // Use table 0 again: table 1 is now the least recently used.
    expect(shuffledDomain(KEY, tweak(0), size)).toBe(tables[0]);
    shuffledDomain(KEY, tweak(8), size);
    expect(shuffleCacheBytes()).toBe(8 * 4 * size);
    expect(tables[1]!.every((x) => x === 0)).toBe(true);
    expect(tables[0]!.some((x) => x !== 0)).toBe(true);
    for (const i of [2, 7]) expect(shuffledDomain(KEY, tweak(i), size)).toBe(tables[i]);
    // Made again from the key: the same values.
    expect(Array.from(shuffledDomain(KEY, tweak(1), size).subarray(0, 100))).toEqual(firstCopy);
  }, 60_000);
});
