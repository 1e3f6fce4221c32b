// A scalable Bloom filter (Almeida, Baquero, Preguiça, Hutchison: "Scalable Bloom
// Filters", 2007): a series of plain Bloom filters, each twice as large as the one before
// and with one more hash function, so its false-positive probability is half the one
// before. Nothing about the number of items has to be known in advance; memory grows with
// the number of distinct items added, and a lookup errs (says "present" for an item never
// added) with probability at most p0 + p0/2 + p0/4 + ... < 2·p0.
//
// Items arrive already hashed, as two 32-bit lanes; the k bit positions of a stage are
// derived by double hashing (Kirsch and Mitzenmacher, "Less hashing, same performance").

export interface BloomOptions {
  /** Items the first stage holds at its designed error rate. */
  initialCapacity: number;
  /** log2(1/p0): the first stage's number of hash functions; its error rate is 2^-bits at capacity. */
  errorBits: number;
}

const MAX_BITS = 2 ** 31 - 32;

interface Stage {
  bits: Uint32Array;
  /** Number of bits. */
  m: number;
  k: number;
  capacity: number;
  count: number;
}

export class ScalableBloom {
  private readonly stages: Stage[] = [];
  private readonly options: BloomOptions;
  /** Distinct items added (as far as the filter can tell). */
  size = 0;

  constructor(options: BloomOptions) {
    this.options = options;
    this.addStage();
  }

  /** Upper bound on the probability that has() says true for an item never added. */
  get falsePositiveBound(): number {
    return 2 * 2 ** -this.options.errorBits;
  }

  get bytes(): number {
    return this.stages.reduce((n, s) => n + s.bits.byteLength, 0);
  }

  has(a: number, b: number): boolean {
    for (let i = 0; i < this.stages.length; i++) {
      if (stageHas(this.stages[i]!, a, b)) return true;
    }
    return false;
  }

  /** Adds an item; false when it was (probably) there already. */
  add(a: number, b: number): boolean {
    if (this.has(a, b)) return false;
    let stage = this.stages[this.stages.length - 1]!;
    if (stage.count >= stage.capacity) stage = this.addStage();
    const { bits, m, k } = stage;
    const step = b | 1;
    let h = a | 0;
    for (let j = 0; j < k; j++) {
      const i = (h & 0x7fffffff) % m;
      bits[i >>> 5]! |= 1 << (i & 31);
      h = (h + step) | 0;
    }
    stage.count++;
    this.size++;
    return true;
  }

  private addStage(): Stage {
    const n = this.stages.length;
    let capacity = this.options.initialCapacity * 2 ** n;
    const k = this.options.errorBits + n;
    // With m >= k·n/ln 2 bits at most half of them are set at capacity, so a lookup of
    // an absent item passes all k probes with probability at most 2^-k.
    let m = Math.ceil((k * capacity) / Math.LN2 / 32) * 32;
    if (m > MAX_BITS) {
      // Bit positions are 31-bit: a larger stage holds fewer items instead.
      m = MAX_BITS;
      capacity = Math.floor((m * Math.LN2) / k);
    }
    const stage: Stage = { bits: new Uint32Array(m / 32), m, k, capacity, count: 0 };
    this.stages.push(stage);
    return stage;
  }
}

function stageHas(stage: Stage, a: number, b: number): boolean {
  const { bits, m, k } = stage;
  const step = b | 1;
  let h = a | 0;
  for (let j = 0; j < k; j++) {
    // 31-bit positions keep the arithmetic in small integers (an integer modulo, not a float one).
    const i = (h & 0x7fffffff) % m;
    if ((bits[i >>> 5]! & (1 << (i & 31))) === 0) return false;
    h = (h + step) | 0;
  }
  return true;
}
