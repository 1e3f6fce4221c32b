// `unmask --sql/--db/--by-key` and `vault info` as a user meets them, without a database:
// option combinations, messages, exit codes, and the vault's history.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runPgcloak, runPgcloakOk } from '../integration/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-restore-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const INPUT = 'fixtures/golden/types/input.sql';
const RULES = 'fixtures/golden/types/rules.yaml';
const key = join(dir, 'k');
const vault = join(dir, 'v');
const masked = join(dir, 'masked.sql');
runPgcloakOk(['keygen', '--output', key, '--quiet']);
runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '--input', INPUT, '--output', masked, '--quiet']);
const unmask = (...args: string[]): string[] => ['unmask', '--vault', vault, '--key-file', key, ...args];

describe('pgcloak vault info', () => {
  it('prints when, by what, with which rules, the tables and their rows, and the masked dump digest', () => {
    const r = runPgcloakOk(['vault', 'info', '--vault', vault, '--key-file', key]);
    const text = r.stdout.toString('utf8');
    expect(text).toMatch(/made {8}\d{4}-\d\d-\d\dT.* by pgcloak \d+\.\d+\.\d+/);
    expect(text).toMatch(/rules {7}SHA-256 [0-9a-f]{64} \(--rules prints them\)/);
    expect(text).toMatch(/masked dump sha256-tree-1MiB [0-9a-f]{64}/);
    expect(text).toMatch(/public\.person\s+3\s+id\s+name \(placeholder\), code \(placeholder\)/);
    expect(text).toMatch(/"Sales Dept"\."Client List"\s+\d+\s+ID\s+E-mail \(placeholder\), region \(constant\)/);
    expect(text).toMatch(/public\.pair\s+\d+\s+a, b\s+v \(null\)/);
    expect(text).not.toContain('tables:');
  });

  it('prints the rules with --rules, and JSON with --json; no original value', () => {
    const withRules = runPgcloakOk(['vault', 'info', '--vault', vault, '--key-file', key, '--rules']).stdout.toString('utf8');
    expect(withRules).toContain(readFileSync(RULES, 'utf8').split('\n')[1]!);
    const json = JSON.parse(runPgcloakOk(['vault', 'info', '--vault', vault, '--key-file', key, '--json']).stdout.toString('utf8'));
    expect(json.trailer.maskedDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(json.metadata.rules).toBeUndefined();
    expect(json.tables.find((t: { table: string }) => t.table === 'public.person').rows).toBe(3);
    const original = readFileSync(INPUT, 'utf8');
    const secret = /COPY public\.person[^\n]*\n\d+\t([^\t]+)/.exec(original)![1]!;
    expect(JSON.stringify(json)).not.toContain(secret);
  });

  it('refuses a wrong key with exit 5', () => {
    const other = join(dir, 'other');
    runPgcloakOk(['keygen', '--output', other, '--quiet']);
    const r = runPgcloak(['vault', 'info', '--vault', vault, '--key-file', other]);
    expect(r.status).toBe(EXIT_CODES.VAULT_WRONG_KEY);
  });
});

describe('pgcloak unmask into a database: usage', () => {
  it.each([
    [['--sql', '--db', 'postgresql://x@/y'], /give one of --sql, --db/],
    [['--dry-run'], /--dry-run go\(es\) with --sql, --db or --by-key/],
    [['--map', 'm.yaml'], /--map go\(es\) with/],
    [['--sql', '--input', INPUT], /--sql reads only the vault: no --input/],
    [['--db', 'postgresql://x@/y', '--output', 'x.sql'], /--db writes into the database: no --output/],
    [['--by-key', '--dry-run'], /--dry-run goes with --db or --sql/],
  ])('%j is a usage error', (args, message) => {
    const r = runPgcloak(unmask(...args));
    expect(r.status).toBe(EXIT_CODES.USAGE);
    expect(r.stderr).toMatch(message);
  });

  it('names the path of a bad map entry and exits 3', () => {
    const map = join(dir, 'bad-map.yaml');
    writeFileSync(map, 'tables:\n  person:\n    columns: {name: [1]}\n');
    const r = runPgcloak(unmask('--sql', '--map', map));
    expect(r.status).toBe(EXIT_CODES.MAP_INVALID);
    expect(r.stderr).toContain('tables.person.columns.name: expected the new column name');
  });

  it('warns about map entries that name nothing in the vault', () => {
    const map = join(dir, 'typo-map.yaml');
    writeFileSync(map, 'tables:\n  persn: {rename: people}\n');
    const r = runPgcloakOk(unmask('--sql', '--map', map, '--output', join(dir, 'typo.sql'), '--quiet'));
    expect(r.stderr).toContain('warning: tables.persn: no table of that name in the vault');
  });

  it('fails with exit 8 when the database cannot be reached, without printing the URL', () => {
    const r = runPgcloak(unmask('--db', 'postgresql://nobody:s3cret@/nodb?host=/nonexistent-pgcloak-dir&port=1'));
    expect(r.status).toBe(EXIT_CODES.DB_ERROR);
    expect(r.stderr).toMatch(/DB_ERROR: cannot connect to the database/);
    expect(r.stderr).not.toContain('s3cret');
  });

  it('writes the script to stdout: one transaction, the originals as COPY data', () => {
    const r = runPgcloakOk(unmask('--sql', '--quiet'));
    const script = r.stdout.toString('utf8');
    expect(script).toMatch(/^BEGIN;$/m);
    expect(script.trimEnd().endsWith('COMMIT;')).toBe(true);
    expect(script.match(/^\s*UPDATE "public"\."person" AS t$/gm)).toHaveLength(1);
    expect(r.stderr).toBe('');
  });

  it('--by-key on the masked dump itself gives back the original rows', () => {
    const out = join(dir, 'by-key.sql');
    const r = runPgcloakOk(unmask('--by-key', '--input', masked, '--output', out, '--json'));
    const report = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(report.mode).toBe('dump');
    const rows = (text: string): string[] => text.split('\n').filter((l) => /^\d+\t/.test(l));
    expect(rows(readFileSync(out, 'utf8'))).toEqual(rows(readFileSync(INPUT, 'utf8')));
  });
});
