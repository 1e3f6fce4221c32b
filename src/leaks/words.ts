// The unit of the leak scan: words. A word is a maximal run of letters, digits and
// combining marks (Unicode L, N, M; characters outside the BMP count as letters),
// lower-cased; every other character separates words. A value is "found" where its
// words appear one after the other, whatever separates them, so `Obere Str. 57` is
// found in `lives at obere str 57` and `mary.smith@x.org` in `mailto:Mary.Smith@x.org`.
//
// Each word is hashed to two independent 32-bit lanes (MurmurHash3's mixing, over UTF-16
// code units); a sequence of words folds its words' lanes in order, so the hash of every
// prefix of a sequence comes for free on the way to the whole.

/** 1 for a word character, by UTF-16 code unit. */
const WORD_CHAR = new Uint8Array(65536);
/** The lower-case form of a BMP character (itself when it has no single-unit lower case). */
const LOWER = new Uint16Array(65536);

(function buildTables(): void {
  const wordish = /[\p{L}\p{N}\p{M}]/u;
  for (let c = 0; c < 65536; c++) {
    const ch = String.fromCharCode(c);
    // Surrogates: astral letters (and emoji) are kept inside words rather than splitting them.
    WORD_CHAR[c] = (c >= 0xd800 && c <= 0xdfff) || wordish.test(ch) ? 1 : 0;
    const lower = ch.toLowerCase();
    LOWER[c] = lower.length === 1 ? lower.charCodeAt(0) : c;
  }
})();

const SEED_A = 0x9747b28c;
const SEED_B = 0x3c6ef372;
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixLane(h: number, c: number): number {
  let k = Math.imul(c, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The words of one text: their hash lanes and where each starts. Reused between texts. */
export class WordList {
  count = 0;
  a = new Int32Array(64);
  b = new Int32Array(64);
  /** Offset in the text of each word's first character. */
  at = new Int32Array(64);
  /** Total word characters. */
  chars = 0;

  /** Splits `text` into words, replacing what the list held. */
  read(text: string): this {
    this.count = 0;
    this.chars = 0;
    const n = text.length;
    let i = 0;
    while (i < n) {
      let c = text.charCodeAt(i);
      if (WORD_CHAR[c] === 0) {
        i++;
        continue;
      }
      const start = i;
      let ha = SEED_A;
      let hb = SEED_B;
      do {
        c = LOWER[c]!;
        ha = mixLane(ha, c);
        hb = mixLane(hb, c ^ 0x5bd1);
        i++;
        if (i >= n) break;
        c = text.charCodeAt(i);
      } while (WORD_CHAR[c] === 1);
      this.push(fmix32(ha ^ (i - start)), fmix32(hb ^ Math.imul(i - start, 0x27d4eb2f)), start);
      this.chars += i - start;
    }
    return this;
  }

  private push(a: number, b: number, at: number): void {
    if (this.count === this.a.length) {
      const size = this.count * 2;
      this.a = grow(this.a, size);
      this.b = grow(this.b, size);
      this.at = grow(this.at, size);
    }
    this.a[this.count] = a;
    this.b[this.count] = b;
    this.at[this.count] = at;
    this.count++;
  }
}

function grow(array: Int32Array<ArrayBuffer>, size: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(size);
  bigger.set(array);
  return bigger;
}

/** A hash of a word sequence, extended one word at a time. */
export interface SequenceHash {
  a: number;
  b: number;
}

const SEQ_A = 0x68e31da4;
const SEQ_B = 0xb5297a4d;

export function startSequence(h: SequenceHash, words: WordList, i: number): void {
  h.a = fmix32((Math.imul(SEQ_A, 0x01000193) ^ words.a[i]!) + 0x7f4a7c15);
  h.b = fmix32((Math.imul(SEQ_B, 0x85ebca6b) ^ words.b[i]!) + 0x165667b1);
}

export function extendSequence(h: SequenceHash, words: WordList, i: number): void {
  h.a = fmix32((Math.imul(h.a, 0x01000193) ^ words.a[i]!) + 0x7f4a7c15);
  h.b = fmix32((Math.imul(h.b, 0x85ebca6b) ^ words.b[i]!) + 0x165667b1);
}
