// Statistics of PostgreSQL 18 dumps through the command line: mask, the leak scan (which reads
// statistics statements as places of their own), unmask byte for byte, --sql, vault info.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { describeRun, runPgcloak, runPgcloakOk } from '../integration/cli.js';

const CASE = 'fixtures/golden/statistics';
const INPUT = `${CASE}/input.sql`;
const RULES = `${CASE}/rules.yaml`;

let dir: string;
let key: string;
const at = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgcloak-cli-stats-'));
  key = at('k');
  runPgcloakOk(['keygen', '--output', key, '-q']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('statistics statements', () => {
  it('mask --leak-check finds the one copied original, in the kept column and its statistics, and nowhere else', () => {
    const args = ['mask', '--rules', RULES, '--vault', at('v'), '--key-file', key, '-i', INPUT, '-o', at('m.sql'), '--leak-check', '--json'];
    const r = runPgcloak(args);
    expect(r.status, describeRun(args, r)).toBe(EXIT_CODES.LEAKS_FOUND);
    const places = [...r.stderr.matchAll(/^ {2}(\S.*?)\s{2,}\d+\s+first at line \d+$/gm)].map((m) => m[1]);
    expect(places).toEqual(['public.customer.notes', 'statistics of public.customer.notes']);
  });

  it('masks, scans, unmasks byte for byte (on 1 and 2 threads), and --sql leaves statistics to the database', () => {
    runPgcloakOk(['mask', '--rules', RULES, '--vault', at('v2'), '--key-file', key, '-i', INPUT, '-o', at('m2.sql'), '-q']);
    expect(readFileSync(at('m2.sql')).equals(readFileSync(`${CASE}/expected.sql`))).toBe(true);
    const scan = runPgcloak(['scan', '--vault', at('v2'), '--key-file', key, '--json', at('m2.sql')]);
    expect(scan.status).toBe(EXIT_CODES.LEAKS_FOUND);
    expect(JSON.parse(scan.stdout.toString()).places.map((p: { name: string }) => p.name)).toEqual(['public.customer.notes', 'statistics of public.customer.notes']);
    for (const threads of ['1', '2']) {
      const back = runPgcloakOk(['unmask', '--vault', at('v2'), '--key-file', key, '-i', at('m2.sql'), '--threads', threads, '-q']);
      expect(back.stdout.equals(readFileSync(INPUT))).toBe(true);
    }
    runPgcloakOk(['unmask', '--vault', at('v2'), '--key-file', key, '--sql', '-o', at('restore.sql'), '-q']);
    expect(readFileSync(at('restore.sql'), 'utf8')).not.toContain('pg_restore_attribute_stats');
    const info = runPgcloakOk(['vault', 'info', '--vault', at('v2'), '--key-file', key]).stdout.toString();
    expect(info).toContain('  7 statistics statement(s) of masked columns, kept whole');
  });

  it('refuses an unknown statistics form on a masked table, leaving nothing behind', () => {
    const input = Buffer.concat([
      readFileSync(INPUT),
      Buffer.from("SELECT * FROM pg_catalog.pg_restore_extended_stats('schemaname', 'public', 'relname', 'customer', 'most_common_vals', '{alice@example.com}'::text);\n"),
    ]);
    const r = runPgcloak(['mask', '--rules', RULES, '--vault', at('v3'), '--key-file', key, '-o', at('m3.sql'), '-q'], { input });
    expect(r.status).toBe(EXIT_CODES.INPUT_FORMAT);
    expect(r.stderr).toMatch(/INPUT_FORMAT: pg_catalog\.pg_restore_extended_stats\(\) is a statistics form this pgcloak does not know/);
    expect(() => readFileSync(at('m3.sql'))).toThrow();
    expect(() => readFileSync(at('v3'))).toThrow();
  });
});
