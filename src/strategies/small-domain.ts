// Keyed permutations of small domains, for `pseudonym`: a Feistel network is only as strong as
// its domain is large (NIST SP 800-38G asks FF1 and FF3-1 for at least 10^6 values; on one
// position the network has an empty half and degenerates into a keyed shift), so a shape with
// fewer values gets a table instead: every value of the domain, shuffled by Fisher–Yates.
//
// The shuffle's randomness: a keyed BLAKE2b of the domain's size and tweak (pseudonym.ts: the
// pattern of letters and digits, and the rule's `domain:`) gives a 32-byte key of its own, which
// ChaCha20 (libsodium crypto_stream_chacha20) expands into as many 32-bit words as the shuffle
// draws (5 times faster than BLAKE2b in counter mode for a table of 10^6). Each draw is
// unbiased (Lemire's multiply-and-reject), so every permutation of the domain is as likely as
// any other to anyone without the key.
//
// Tables are cached per key and tweak, least recently used first out, within CACHE_BYTES per
// thread (a table of 10^6 values takes 4 MB; one of 456 976, four letters, 1.8 MB and tens of
// milliseconds to make). A table is made of the key: evicted or forgotten ones are zeroed.

import { sodium } from '../sodium.js';

/** Domains with fewer values than this are shuffled whole; larger ones go through the Feistel network. */
export const SMALL_DOMAIN_LIMIT = 1_000_000;
/** What the cached tables of one thread may take together. */
export const CACHE_BYTES = 32 * 1024 * 1024;

const TAG_SHUFFLE = 0x53; // 'S': the key of one domain's shuffle (pseudonym.ts uses 'F', 'L', 'X'; hash.ts 'H')
const WORDS_PER_REFILL = 4096;
const TWO_32 = 4294967296;

export type DomainTable = Uint8Array | Uint16Array | Uint32Array;

interface Entry {
  table: DomainTable;
  owner: Buffer;
}

/** Every cached table, least recently used first (a Map iterates in insertion order). */
const cache = new Map<string, Entry>();
let cachedBytes = 0;
/** Keys are told apart in cache keys by a number of their own (a key's bytes never go into a string). */
const keyIds = new WeakMap<Buffer, number>();
let nextKeyId = 1;
/** The last table looked up: a run of values of one shape skips the reordering. */
let lastName: string | undefined;
let lastTable: DomainTable | undefined;

/**
 * The image of every value below `size` (< SMALL_DOMAIN_LIMIT) under the keyed shuffle of the
 * domain `tweak` names: `table[x]` is the pseudonym of x.
 */
export function shuffledDomain(secret: Buffer, tweak: Buffer, size: number): DomainTable {
  let id = keyIds.get(secret);
  if (id === undefined) {
    id = nextKeyId++;
    keyIds.set(secret, id);
  }
  const name = `${id}:${size}:${tweak.toString('latin1')}`;
  if (name === lastName && lastTable !== undefined) return lastTable;
  let entry = cache.get(name);
  if (entry) {
    // Most recently used: to the end.
    cache.delete(name);
    cache.set(name, entry);
  } else {
    entry = { table: shuffle(secret, tweak, size), owner: secret };
    cachedBytes += entry.table.byteLength;
    cache.set(name, entry);
    for (const [oldest, old] of cache) {
      if (cachedBytes <= CACHE_BYTES || old === entry) break;
      drop(oldest, old);
    }
  }
  lastName = name;
  lastTable = entry.table;
  return entry.table;
}

/** Zeroes and drops every table made with `secret` (at the end of a run, with the key itself). */
export function forgetShuffles(secret: Buffer): void {
  for (const [name, entry] of cache) if (entry.owner === secret) drop(name, entry);
}

/** The bytes the cached tables take now. */
export function shuffleCacheBytes(): number {
  return cachedBytes;
}

function drop(name: string, entry: Entry): void {
  entry.table.fill(0);
  cachedBytes -= entry.table.byteLength;
  cache.delete(name);
  if (lastName === name) {
    lastName = undefined;
    lastTable = undefined;
  }
}

/** Fisher–Yates over 0..size-1, drawing from the domain's keyed stream. */
function shuffle(secret: Buffer, tweak: Buffer, size: number): DomainTable {
  const table = size <= 0x100 ? new Uint8Array(size) : size <= 0x10000 ? new Uint16Array(size) : new Uint32Array(size);
  for (let i = 0; i < size; i++) table[i] = i;
  const words = new KeyedWords(secret, tweak, size);
  try {
    for (let i = size - 1; i > 0; i--) {
      // j uniform in [0, i], without modulo bias (Lemire, "Fast random integer generation in
      // an interval", 2019): the high word of word * n, rejecting the few low words below
      // 2^32 mod n. The product is below 2^52, exact in a double.
      const n = i + 1;
      let m = words.next() * n;
      let low = m % TWO_32;
      if (low < n) {
        const threshold = (TWO_32 - n) % n;
        while (low < threshold) {
          m = words.next() * n;
          low = m % TWO_32;
        }
      }
      const j = (m - low) / TWO_32;
      const t = table[i]!;
      table[i] = table[j]!;
      table[j] = t;
    }
  } finally {
    words.wipe();
  }
  return table;
}

/** Uniform 32-bit words from ChaCha20 under a key derived from the secret and the domain. */
class KeyedWords {
  private readonly key = Buffer.alloc(sodium.crypto_stream_chacha20_KEYBYTES);
  private readonly nonce = Buffer.alloc(sodium.crypto_stream_chacha20_NONCEBYTES);
  private readonly zeros = Buffer.alloc(4 * WORDS_PER_REFILL);
  private readonly bytes = Buffer.alloc(4 * WORDS_PER_REFILL);
  // Words read little-endian whatever the platform: the same key gives the same tables everywhere.
  private readonly words = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length);
  private at = this.bytes.length;
  /** ChaCha20's block counter: 64-byte blocks used so far. */
  private block = 0;

  constructor(secret: Buffer, tweak: Buffer, size: number) {
    const message = Buffer.alloc(5 + tweak.length);
    message[0] = TAG_SHUFFLE;
    message.writeUInt32BE(size, 1);
    tweak.copy(message, 5);
    sodium.crypto_generichash(this.key, message, secret);
  }

  next(): number {
    if (this.at === this.bytes.length) {
      sodium.crypto_stream_chacha20_xor_ic(this.bytes, this.zeros, this.nonce, this.block, this.key);
      this.block += this.bytes.length / 64;
      this.at = 0;
    }
    const word = this.words.getUint32(this.at, true);
    this.at += 4;
    return word;
  }

  wipe(): void {
    sodium.sodium_memzero(this.key);
    sodium.sodium_memzero(this.bytes);
  }
}
