// Words as the leak scan sees them: letters and digits of any script, lower-cased;
// everything else separates; equal word sequences hash equally whatever separates them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WordList, extendSequence, startSequence, type SequenceHash } from '../../src/leaks/words.js';

function words(text: string): string[] {
  const w = new WordList().read(text);
  const out: string[] = [];
  for (let i = 0; i < w.count; i++) {
    let end = w.at[i]!;
    while (end < text.length && /[\p{L}\p{N}\p{M}]/u.test(text[end]!)) end++;
    out.push(text.slice(w.at[i]!, end));
  }
  return out;
}

function sequenceHash(text: string): string {
  const w = new WordList().read(text);
  const h: SequenceHash = { a: 0, b: 0 };
  startSequence(h, w, 0);
  for (let i = 1; i < w.count; i++) extendSequence(h, w, i);
  return `${h.a}:${h.b}`;
}

describe('words', () => {
  it('splits on everything but letters, digits and marks', () => {
    expect(words('Mary.Smith@sakila-customer.org')).toEqual(['Mary', 'Smith', 'sakila', 'customer', 'org']);
    expect(words('{"contact": "a_b"}\t\\n')).toEqual(['contact', 'a', 'b', 'n']);
    expect(words('Theodor-Heuss-Straße 34, Köln')).toEqual(['Theodor', 'Heuss', 'Straße', '34', 'Köln']);
    expect(words('李 例子 Дмитрий')).toEqual(['李', '例子', 'Дмитрий']);
    expect(words('  ')).toEqual([]);
  });

  it('hashes a word sequence the same whatever case and separators', () => {
    expect(sequenceHash('Obere Str. 57')).toBe(sequenceHash('obere str 57'));
    expect(sequenceHash('ALICE@EXAMPLE.COM')).toBe(sequenceHash('alice@example.com'));
    expect(sequenceHash('ÉLODIE Dupré')).toBe(sequenceHash('élodie dupré'));
    expect(sequenceHash('alice example')).not.toBe(sequenceHash('example alice'));
    expect(sequenceHash('ab c')).not.toBe(sequenceHash('a bc'));
  });

  it('sequence hashes of different texts differ (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 5 }), fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 5 }), (x, y) => {
        const same = x.join(' ') === y.join(' ');
        return (sequenceHash(x.join(' ')) === sequenceHash(y.join(' '))) === same;
      }),
    );
  });
});
