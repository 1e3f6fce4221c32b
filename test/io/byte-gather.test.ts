import { describe, expect, it } from 'vitest';
import { ByteGather } from '../../src/io/byte-gather.js';

/** A chunk the way a chunk source hands it over: its memory is overwritten afterwards. */
function reused(gather: ByteGather, text: Buffer, sizes: number[]): void {
  const slot = Buffer.alloc(Math.max(...sizes));
  for (let pos = 0, i = 0; pos < text.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, text.length - pos);
    text.copy(slot, 0, pos, pos + n);
    gather.append(slot, 0, n);
    slot.fill(0x3f);
    pos += n;
  }
}

describe('ByteGather', () => {
  it('joins copies of the pieces, with the caller\'s last piece, into memory of its own', () => {
    const gather = new ByteGather();
    reused(gather, Buffer.from('a row split across five chunks'), [1, 4, 9, 2, 20]);
    expect(gather.length).toBe(30);
    const tail = Buffer.from('<< and its end\n>>');
    const whole = gather.take(tail, 2, tail.length - 2);
    tail.fill(0);
    expect(whole.toString()).toBe('a row split across five chunks and its end\n');
    expect(gather.length).toBe(0);
    expect(gather.take().length).toBe(0);
  });

  it('hands one piece over as it is, and copies the caller\'s bytes even when they are all there is', () => {
    const gather = new ByteGather();
    gather.append(Buffer.from('only'), 0, 4);
    expect(gather.take().toString()).toBe('only');
    const mine = Buffer.from('mine');
    const taken = gather.take(mine, 0, 4);
    mine.fill(0);
    expect(taken.toString()).toBe('mine');
  });

  it('grows a long gathering in one resizable buffer (no pieces held beside their join, issue 18), and starts small again', () => {
    const gather = new ByteGather();
    const text = Buffer.alloc(20 * 1024 * 1024 + 3);
    for (let i = 0; i < text.length; i += 4096) text.write(`block ${i} `, i);
    reused(gather, text, [1 << 20, 65537, 13]);
    const whole = gather.take(Buffer.from('\n'));
    expect((whole.buffer as ArrayBuffer & { resizable?: boolean }).resizable).toBe(true);
    expect(whole.length).toBe(text.length + 1);
    expect(whole.subarray(0, text.length).equals(text)).toBe(true);
    expect(whole[text.length]).toBe(0x0a);
    gather.append(Buffer.from('short'), 0, 5);
    const again = gather.take();
    expect(again.toString()).toBe('short');
    expect((again.buffer as ArrayBuffer & { resizable?: boolean }).resizable).not.toBe(true);
  });

  it('clear() drops what was gathered', () => {
    const gather = new ByteGather();
    gather.append(Buffer.from('dropped'), 0, 7);
    gather.clear();
    gather.append(Buffer.from('kept'), 0, 4);
    expect(gather.take().toString()).toBe('kept');
  });
});
