// Every warning reaches the user through one path (issue 18): shown on stderr as it comes,
// under --quiet too; listed in the text summary; in the --json summary. A dump that stops
// exactly at a statement boundary used to exit 0 saying "1 warning(s), shown above" without
// showing it, and --quiet lost it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPgcloakOk } from '../integration/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-warnings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const RULES = 'fixtures/golden/types/rules.yaml';
const key = join(dir, 'k');
runPgcloakOk(['keygen', '--output', key, '--quiet']);

const WHOLE = readFileSync('fixtures/golden/types/input.sql');
/** The golden dump cut just before its "dump complete" comment: every statement whole. */
const CUT = WHOLE.subarray(0, WHOLE.indexOf('--\n-- PostgreSQL database dump complete'));
const TRUNCATED = "warning: the input starts like a pg_dump dump but lacks its 'dump complete' line: it may be truncated";
const MESSAGE = TRUNCATED.replace('warning: ', '');

/** The summary's last line, as JSON. */
const jsonOf = (stderr: string): { warnings: string[] } => JSON.parse(stderr.trim().split('\n').pop()!);

describe('a dump cut at a statement boundary', () => {
  it('mask: shows the warning as it comes and lists it in the summary', () => {
    const r = runPgcloakOk(['mask', '--rules', RULES, '--vault', join(dir, 'text.vault'), '--key-file', key], { input: CUT });
    expect(r.stderr).toContain(`pgcloak: ${TRUNCATED}\n`);
    expect(r.stderr).toMatch(new RegExp(`1 warning\\(s\\):\\n +${MESSAGE.replace(/[()]/g, '\\$&')}\\n`));
    expect(r.stderr).not.toContain('shown above');
  });

  it('mask --quiet: shows it, and nothing else', () => {
    const r = runPgcloakOk(['mask', '--rules', RULES, '--vault', join(dir, 'quiet.vault'), '--key-file', key, '--quiet'], { input: CUT });
    expect(r.stderr).toBe(`pgcloak: ${TRUNCATED}\n`);
  });

  it('mask --json: in the JSON summary too', () => {
    const r = runPgcloakOk(['mask', '--rules', RULES, '--vault', join(dir, 'json.vault'), '--key-file', key, '--json'], { input: CUT });
    expect(jsonOf(r.stderr).warnings).toEqual([MESSAGE]);
    expect(r.stderr).toContain(`pgcloak: ${TRUNCATED}\n`);
  });

  it('unmask: the same, in text, under --quiet and in --json', () => {
    const vault = join(dir, 'unmask.vault');
    const masked = runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '--quiet'], { input: CUT });
    const text = runPgcloakOk(['unmask', '--vault', vault, '--key-file', key], { input: masked.stdout });
    expect(text.stdout.equals(CUT)).toBe(true);
    expect(text.stderr).toContain(`pgcloak: ${TRUNCATED}\n`);
    expect(text.stderr).toContain(`1 warning(s):\n    ${MESSAGE}\n`);
    const quiet = runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '--quiet'], { input: masked.stdout });
    expect(quiet.stderr).toBe(`pgcloak: ${TRUNCATED}\n`);
    const json = runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '--json'], { input: masked.stdout });
    expect(jsonOf(json.stderr).warnings).toEqual([MESSAGE]);
  });

  it('a whole dump gives none', () => {
    const r = runPgcloakOk(['mask', '--rules', RULES, '--vault', join(dir, 'whole.vault'), '--key-file', key, '--json'], { input: WHOLE });
    expect(jsonOf(r.stderr).warnings).toEqual([]);
    expect(r.stderr).not.toContain('pgcloak: warning');
  });
});

describe('raw COPY data of a table no rule names', () => {
  it('shows that it passes through unmasked, under --quiet too', () => {
    const rules = join(dir, 'other.yaml');
    writeFileSync(rules, 'tables:\n  person:\n    columns: {name: placeholder}\n');
    const args = (vault: string) => ['mask', '--rules', rules, '--vault', join(dir, vault), '--key-file', key, '--format', 'copy-text', '--table', 'other', '--columns', 'id,t'];
    const nothing = 'nothing was masked: no rule matched a column of the dump (see "not existing"); the output is the input, unchanged';
    const quiet = runPgcloakOk([...args('raw-quiet.vault'), '--quiet'], { input: Buffer.from('1\tx\n') });
    expect(quiet.stderr).toBe(`pgcloak: warning: no rule names public.other: its data passes through unmasked\npgcloak: warning: ${nothing}\n`);
    const json = runPgcloakOk([...args('raw-json.vault'), '--json'], { input: Buffer.from('1\tx\n') });
    expect(jsonOf(json.stderr).warnings).toEqual(['no rule names public.other: its data passes through unmasked', nothing]);
  });
});
