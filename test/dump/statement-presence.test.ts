import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StatementPresence } from '../../src/dump/statement-presence.js';

/** Fed whole, at every split point, and a byte at a time: the answer must not depend on the chunks. */
function sawStatement(text: string): boolean {
  const bytes = Buffer.from(text);
  const answers = new Set<boolean>();
  for (let cut = 0; cut <= bytes.length; cut++) {
    const p = new StatementPresence();
    p.write(bytes.subarray(0, cut));
    p.write(bytes.subarray(cut));
    answers.add(p.sawStatement);
  }
  const single = new StatementPresence();
  for (const b of bytes) single.write(Buffer.from([b]));
  answers.add(single.sawStatement);
  expect(answers.size).toBe(1);
  return single.sawStatement;
}

describe('StatementPresence', () => {
  it.each([
    ['', false],
    ['\n\n  \t\r\n', false],
    ['--\n-- PostgreSQL database dump\n--\n\n', false],
    ['-- no newline at the end', false],
    ['/* a */ /* b /* nested */ still comment */\n', false],
    ['/* not closed', false],
    ['/* ** stars **/', false],
    ['/*/ still open', false],
    ['/* a /* b */ c */ SET x = 1;', true],
    ['-- comment\r\nSET client_encoding = \'UTF8\';', true],
    ['SET statement_timeout = 0;', true],
    ['\\restrict abc\n', true],
    ['  -x', true],
    ['-', true],
    ['/', true],
    ['/ * not a comment */', true],
    ['- - not a comment', true],
    ['/* a /* b */ c', false],
    ['/* a /* b */ */ x', true],
  ])('%j holds a statement: %s', (text, expected) => {
    expect(sawStatement(text)).toBe(expected);
  });

  it('a statement anywhere after blank space and comments is seen, however it is cut', () => {
    const blank = fc.constantFrom('\n', ' ', '\t', '-- c\n', '/* c */', '/* a /* b */ c */');
    fc.assert(
      fc.property(fc.array(blank), fc.array(blank), (before, after) => {
        expect(sawStatement(`${before.join('')}${after.join('')}`)).toBe(false);
        expect(sawStatement(`${before.join('')}SELECT 1;${after.join('')}`)).toBe(true);
      }),
      { seed: 18, numRuns: 200 },
    );
  });
});
