// The scalable Bloom filter: never a false negative, errors within the stated bound, and
// memory that grows with the number of distinct items, not with repeats.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScalableBloom } from '../../src/leaks/bloom.js';

function lanes(i: number, salt: number): [number, number] {
  // Two well-mixed 32-bit lanes from a counter (splitmix-like), independent of the filter's own mixing.
  let a = Math.imul(i ^ salt, 0x9e3779b1) ^ 0x85ebca6b;
  a = Math.imul(a ^ (a >>> 15), 0x2c1b3c6d);
  a ^= a >>> 12;
  let b = Math.imul(i + salt * 7919, 0x27d4eb2f) ^ 0x165667b1;
  b = Math.imul(b ^ (b >>> 13), 0x85ebca6b);
  b ^= b >>> 16;
  return [a | 0, b | 0];
}

describe('ScalableBloom', () => {
  it('finds every item it was given, across stage growth', () => {
    const f = new ScalableBloom({ initialCapacity: 64, errorBits: 10 });
    for (let i = 0; i < 5000; i++) f.add(...lanes(i, 1));
    for (let i = 0; i < 5000; i++) expect(f.has(...lanes(i, 1))).toBe(true);
    expect(f.size).toBeGreaterThan(4990); // a few adds may be taken for repeats, within the error rate
  });

  it('errs no more often than its bound says', () => {
    const f = new ScalableBloom({ initialCapacity: 1000, errorBits: 7 });
    for (let i = 0; i < 8000; i++) f.add(...lanes(i, 2)); // four stages
    let wrong = 0;
    const probes = 200_000;
    for (let i = 0; i < probes; i++) if (f.has(...lanes(i, 3))) wrong++;
    expect(f.falsePositiveBound).toBeCloseTo(2 * 2 ** -7);
    expect(wrong / probes).toBeLessThan(f.falsePositiveBound);
  });

  it('does not grow on repeats', () => {
    const f = new ScalableBloom({ initialCapacity: 128, errorBits: 20 });
    for (let round = 0; round < 10; round++) for (let i = 0; i < 100; i++) f.add(...lanes(i, 4));
    expect(f.size).toBe(100);
    const bytes = f.bytes;
    for (let i = 0; i < 100; i++) expect(f.add(...lanes(i, 4))).toBe(false);
    expect(f.bytes).toBe(bytes);
  });

  it('never forgets (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer(), fc.integer()), { maxLength: 300 }), (items) => {
        const f = new ScalableBloom({ initialCapacity: 16, errorBits: 8 });
        for (const [a, b] of items) f.add(a, b);
        return items.every(([a, b]) => f.has(a, b));
      }),
    );
  });
});
