import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_VARINT_BYTES, readVarint, varintLength, writeVarint } from '../../src/vault/varint.js';

describe('varints', () => {
  it('round-trip every safe integer, in varintLength bytes', () => {
    const buf = new Uint8Array(MAX_VARINT_BYTES + 2);
    fc.assert(
      fc.property(fc.oneof(fc.nat(300), fc.nat(), fc.maxSafeNat()), fc.nat(2), (value, at) => {
        const end = writeVarint(buf, at, value);
        expect(end - at).toBe(varintLength(value));
        const cursor = { pos: at };
        expect(readVarint(buf, cursor, end)).toBe(value);
        expect(cursor.pos).toBe(end);
      }),
    );
  });

  it('encodes the edges as LEB128', () => {
    const encode = (value: number) => {
      const buf = new Uint8Array(MAX_VARINT_BYTES);
      return Buffer.from(buf.subarray(0, writeVarint(buf, 0, value))).toString('hex');
    };
    expect(encode(0)).toBe('00');
    expect(encode(127)).toBe('7f');
    expect(encode(128)).toBe('8001');
    expect(encode(300)).toBe('ac02');
    expect(encode(2 ** 31)).toBe('8080808008');
    expect(encode(Number.MAX_SAFE_INTEGER)).toBe('ffffffffffffff0f');
  });

  it('rejects a varint cut short, too long, or above the safe range', () => {
    const read = (hex: string, end?: number) => {
      const buf = Buffer.from(hex, 'hex');
      const cursor = { pos: 0 };
      const value = readVarint(buf, cursor, end ?? buf.length);
      return { value, pos: cursor.pos };
    };
    expect(read('80')).toEqual({ value: -1, pos: 0 });
    expect(read('ac02', 1)).toEqual({ value: -1, pos: 0 });
    expect(read('ffffffffffffff8001')).toEqual({ value: -1, pos: 0 });
    expect(read('ffffffffffffff10')).toEqual({ value: -1, pos: 0 }); // above 2^53
  });
});
