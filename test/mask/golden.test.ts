// Every golden case of fixtures/golden/ (input.sql, rules.yaml → expected.sql): masked to the
// exact expected bytes however the input is cut, and unmasked back to the input.
import { describe, expect, it } from 'vitest';
import { chunksOf, goldenCase, maskInMemory, unmaskInMemory } from './run-in-memory.js';

describe.each(['types', 'inserts', 'statistics'])('golden case %s', (name) => {
  const { INPUT, EXPECTED, RULES } = goldenCase(name);

  it('writes exactly the golden output', async () => {
    const { output } = await maskInMemory([INPUT], RULES);
    expect(output.toString()).toBe(EXPECTED.toString());
  });

  it('gives the golden output at every split point, and unmasks back byte for byte', async () => {
    const { vault } = await maskInMemory([INPUT], RULES);
    for (let i = 0; i <= INPUT.length; i++) {
      const { output } = await maskInMemory([INPUT.subarray(0, i), INPUT.subarray(i)], RULES);
      expect(output.equals(EXPECTED), `mask split at ${i}`).toBe(true);
      const back = await unmaskInMemory([EXPECTED.subarray(0, i), EXPECTED.subarray(i)], RULES, vault);
      expect(back.equals(INPUT), `unmask split at ${i}`).toBe(true);
    }
  });

  it('gives the golden output fed one byte at a time', async () => {
    const { output, vault } = await maskInMemory(chunksOf(INPUT, [1]), RULES);
    expect(output.equals(EXPECTED)).toBe(true);
    expect((await unmaskInMemory(chunksOf(EXPECTED, [1]), RULES, vault)).equals(INPUT)).toBe(true);
  });
});
