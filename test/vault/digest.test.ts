import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputDigest, blake2bHex } from '../../src/vault/digest.js';

// BLAKE2b-256 test values (RFC 7693 gives BLAKE2b-512; these are the 32-byte outputs as
// computed by the reference implementation, b2sum -l 256).
const EMPTY = '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8';
const ABC = 'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319';

describe('blake2bHex', () => {
  it('matches known BLAKE2b-256 values', () => {
    expect(blake2bHex(new Uint8Array(0))).toBe(EMPTY);
    expect(blake2bHex(Buffer.from('abc'))).toBe(ABC);
  });
});

describe('OutputDigest', () => {
  it('gives the one-shot digest however the stream is cut', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(2000), { maxLength: 10 }), (data, cuts) => {
        const digest = new OutputDigest();
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const to of [...points, data.length]) {
          digest.update(data.subarray(from, to));
          from = to;
        }
        expect(digest.hex()).toBe(blake2bHex(data));
      }),
    );
  });

  it('returns 32 bytes, the same on every call, and refuses input after that', () => {
    const digest = new OutputDigest();
    digest.update(Buffer.from('ab'));
    digest.update(Buffer.from('c'));
    const first = digest.digest();
    expect(first).toHaveLength(32);
    expect(first.toString('hex')).toBe(ABC);
    first.fill(0); // callers get a copy
    expect(digest.hex()).toBe(ABC);
    expect(() => digest.update(Buffer.from('d'))).toThrow();
  });
});
