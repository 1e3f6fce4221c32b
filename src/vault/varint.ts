// Unsigned LEB128 varints for vault records: 7 bits a byte, low group first, high bit set on
// every byte but the last. Values go up to Number.MAX_SAFE_INTEGER (2^53 - 1), so 8 bytes.

export const MAX_VARINT_BYTES = 8;

export function varintLength(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let length = 4;
  for (let rest = Math.floor(value / 0x10000000); rest > 0; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

/**
 * Writes `value` (a non-negative safe integer; the caller checks) at `pos` and returns the
 * position after it. `buf` must have room for varintLength(value) bytes.
 */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    // `& 0x7f` is right even above 2^32: ToInt32 wraps modulo 2^32, a multiple of 128.
    buf[pos++] = (value & 0x7f) | 0x80;
    value = value < 0x80000000 ? value >>> 7 : Math.floor(value / 0x80);
  }
  buf[pos++] = value;
  return pos;
}

/** A reusable read position, so decoding allocates nothing. */
export interface Cursor {
  pos: number;
}

/**
 * Reads a varint at `cursor.pos`, not past `end`, and advances the cursor. Returns -1, with the
 * cursor left where it was, when the bytes run out, the varint is longer than
 * MAX_VARINT_BYTES or its value is above Number.MAX_SAFE_INTEGER.
 */
export function readVarint(buf: Uint8Array, cursor: Cursor, end: number): number {
  let pos = cursor.pos;
  // Most values (field lengths, small ordinals) take one byte.
  const first = buf[pos]!;
  if (first < 0x80 && pos < end) {
    cursor.pos = pos + 1;
    return first;
  }
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES && pos < end; i++) {
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (value > Number.MAX_SAFE_INTEGER) return -1;
      cursor.pos = pos;
      return value;
    }
    scale *= 0x80;
  }
  return -1;
}
