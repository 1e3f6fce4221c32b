import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputDigest, blake2bHex } from '../../src/vault/digest.js';
import { sodium } from '../../src/vault/sodium.js';

// BLAKE2b-512 test values: "abc" from RFC 7693, appendix A; the empty string from the
// reference implementation (b2sum).
const EMPTY =
  '786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce';
const ABC =
  'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923';

describe('blake2bHex', () => {
  it('matches known BLAKE2b-512 values', () => {
    expect(blake2bHex(new Uint8Array(0))).toBe(EMPTY);
    expect(blake2bHex(Buffer.from('abc'))).toBe(ABC);
  });

  it('agrees with libsodium (crypto_generichash, 64 bytes) on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (data) => {
        const out = Buffer.alloc(64);
        sodium.crypto_generichash(out, data);
        expect(blake2bHex(data)).toBe(out.toString('hex'));
      }),
    );
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

  it('returns 64 bytes, the same on every call, and refuses input after that', () => {
    const digest = new OutputDigest();
    digest.update(Buffer.from('ab'));
    digest.update(Buffer.from('c'));
    const first = digest.digest();
    expect(first).toHaveLength(64);
    expect(first.toString('hex')).toBe(ABC);
    first.fill(0); // callers get a copy
    expect(digest.hex()).toBe(ABC);
    expect(() => digest.update(Buffer.from('d'))).toThrow();
  });
});
