// fixtures/pseudonym-v1 holds vaults pgcloak 0.1.0 wrote with pseudonym and hash columns, under
// pseudonym algorithm 1 (a Feistel network on every shape). unmask masks every row again to
// check it, so it must use the algorithm the vault was made with: these still come back byte
// for byte, while masking today gives other pseudonyms on small shapes (issue 21).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readKeyFile } from '../../src/vault/key.js';
import { readVaultInfo } from '../../src/vault/reader.js';
import { copyRows } from '../strategies/helpers.js';
import { runPgcloakOk } from '../integration/cli.js';

const FIXTURES = 'fixtures/pseudonym-v1';
const fixture = (f: string): string => join(FIXTURES, f);
const INPUT = readFileSync(fixture('input.sql'));
const dir = mkdtempSync(join(tmpdir(), 'pgcloak-pseudonym-v1-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vaults of pseudonym algorithm 1', () => {
  it('record no algorithm (so 1)', () => {
    const recorded = readVaultInfo(fixture('v1.vault'), { kind: 'key', key: readKeyFile(fixture('test.key')) }).metadata['strategySecret'];
    expect(recorded).toEqual({ from: 'key-file', id: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('unmask byte for byte: key file vault, on one thread and two', () => {
    for (const threads of ['1', '2']) {
      const back = runPgcloakOk(['unmask', '--vault', fixture('v1.vault'), '--key-file', fixture('test.key'), '--input', fixture('masked.sql'), '--threads', threads, '-q']);
      expect(back.stdout.equals(INPUT), `--threads ${threads}`).toBe(true);
    }
  });

  it('unmask byte for byte: recipient vault masked with --pseudonym-key', () => {
    const args = ['unmask', '--vault', fixture('recipient-v1.vault'), '--identity', fixture('test-id'), '--pseudonym-key', fixture('pseudonym.key')];
    const back = runPgcloakOk([...args, '--input', fixture('recipient-masked.sql'), '-q']);
    expect(back.stdout.equals(INPUT)).toBe(true);
  });

  it('differ from what masking gives today on small shapes only', () => {
    const today = join(dir, 'today.sql');
    runPgcloakOk(['mask', '--rules', fixture('rules.yaml'), '--vault', join(dir, 'today.vault'), '--key-file', fixture('test.key'), '--input', fixture('input.sql'), '--output', today, '-q']);
    const now = copyRows(readFileSync(today), 'public.person');
    const then = copyRows(readFileSync(fixture('masked.sql')), 'public.person');
    // E-mails, names and phone numbers of 10^6 values and more (the first rows), as before; the hash, as before.
    for (const column of [1, 2, 3]) expect(now.slice(0, 3).map((r) => r[column]), `column ${column}`).toEqual(then.slice(0, 3).map((r) => r[column]));
    expect(now.map((r) => r[8])).toEqual(then.map((r) => r[8]));
    // initial (one letter), grade (two digits), word (up to four letters), zip (five digits): shuffled now.
    for (const column of [4, 5, 6, 7]) expect(now.map((r) => r[column]), `column ${column}`).not.toEqual(then.map((r) => r[column]));
    const back = runPgcloakOk(['unmask', '--vault', join(dir, 'today.vault'), '--key-file', fixture('test.key'), '--input', today, '-q']);
    expect(back.stdout.equals(INPUT)).toBe(true);
  });
});
