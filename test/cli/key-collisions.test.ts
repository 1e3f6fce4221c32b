// Keys the rules break, as a user meets them (issue 20, item 5): on the regression database's
// gtest23p (fixtures/regress-gtest23), mask warns at the end naming gtest23p_pkey and the
// restore error, through the one warning path (shown under --quiet, in --json); --strict
// refuses it with exit 3 and leaves neither output nor vault; inspect --rules says the same
// before masking. Text xxx<key>, uuid, pseudonym and hash on a primary key are not flagged.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runPgcloak, runPgcloakOk } from '../integration/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'k');
runPgcloakOk(['keygen', '--output', key, '--quiet']);

const GTEST23 = 'fixtures/regress-gtest23/dump.sql';
const rulesFile = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const X_PLACEHOLDER = rulesFile('x.yaml', 'tables:\n  gtest23p:\n    columns:\n      x: placeholder\n');

const WARNING =
  'public.gtest23p: primary key gtest23p_pkey (y) gets the same value in all 3 rows once masked (y is generated from x; tables.gtest23p.columns.x: placeholder writes 1 in every row): ' +
  `restoring the masked dump fails with 'could not create unique index "gtest23p_pkey"', then public.gtest23q foreign key gtest23q_b_fkey with 'there is no unique constraint matching given keys for referenced table "gtest23p"'`;
/** gtest23p has neither id nor key: rows keyed by position, a warning of its own. */
const POSITION = 'tables.gtest23p: no key and no id column: rows are keyed by their position, which cannot be matched inside a database';

const jsonOf = (stderr: string): { warnings: string[] } => JSON.parse(stderr.trim().split('\n').pop()!);
const mask = (args: string[]) => runPgcloak(['mask', '--key-file', key, '--input', GTEST23, ...args]);

describe('mask on gtest23p of the regression database, x under placeholder', () => {
  it('warns at the end, naming gtest23p_pkey and the error its restore gives; again in the summary', () => {
    const r = mask(['--rules', X_PLACEHOLDER, '--vault', join(dir, 'warn.vault'), '--output', join(dir, 'warn.sql')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`pgcloak: warning: ${WARNING}\n`);
    expect(r.stderr).toContain(`2 warning(s):\n    ${POSITION}\n    ${WARNING}\n`);
    expect(existsSync(join(dir, 'warn.sql'))).toBe(true);
  });

  it('--quiet shows it, --json lists it', () => {
    const quiet = mask(['--rules', X_PLACEHOLDER, '--vault', join(dir, 'quiet.vault'), '--output', join(dir, 'quiet.sql'), '--quiet']);
    expect(quiet.stderr).toBe(`pgcloak: warning: ${POSITION}\npgcloak: warning: ${WARNING}\n`);
    const json = mask(['--rules', X_PLACEHOLDER, '--vault', join(dir, 'json.vault'), '--output', join(dir, 'json.sql'), '--json']);
    expect(jsonOf(json.stderr).warnings).toEqual([POSITION, WARNING]);
  });

  it('--strict refuses it: exit 3 (RULES_KEY_COLLISION), no output, no vault, no temporary file', () => {
    const out = join(dir, 'strict.sql');
    const vault = join(dir, 'strict.vault');
    const r = mask(['--rules', X_PLACEHOLDER, '--vault', vault, '--output', out, '--strict']);
    expect(r.status).toBe(EXIT_CODES.RULES_KEY_COLLISION);
    expect(EXIT_CODES.RULES_KEY_COLLISION).toBe(3);
    expect(r.stderr).toContain(`pgcloak: RULES_KEY_COLLISION: --strict: the masked dump would not restore: 1 key(s) the rules break:\n  ${WARNING}\n`);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(vault)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('strict'))).toEqual([]);
  });
});

/** Four tables whose primary key is masked by a strategy that keeps rows apart (each keyed by n, not the key). */
const APART = Buffer.from(`SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE TABLE public.by_placeholder (code text NOT NULL, n integer NOT NULL);
CREATE TABLE public.by_uuid (token uuid NOT NULL, n integer NOT NULL);
CREATE TABLE public.by_pseudonym (email character varying(40) NOT NULL, n integer NOT NULL);
CREATE TABLE public.by_hash (login text NOT NULL, n integer NOT NULL);

COPY public.by_placeholder (code, n) FROM stdin;
alpha	1
beta	2
\\.

COPY public.by_uuid (token, n) FROM stdin;
a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11	1
b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12	2
\\.

COPY public.by_pseudonym (email, n) FROM stdin;
alice@example.com	1
bob@example.org	2
\\.

COPY public.by_hash (login, n) FROM stdin;
alice	1
bob	2
\\.

ALTER TABLE ONLY public.by_placeholder ADD CONSTRAINT by_placeholder_pkey PRIMARY KEY (code);
ALTER TABLE ONLY public.by_uuid ADD CONSTRAINT by_uuid_pkey PRIMARY KEY (token);
ALTER TABLE ONLY public.by_pseudonym ADD CONSTRAINT by_pseudonym_pkey PRIMARY KEY (email);
ALTER TABLE ONLY public.by_hash ADD CONSTRAINT by_hash_pkey PRIMARY KEY (login);
`);
const APART_RULES = `tables:
  by_placeholder: {key: n, columns: {code: placeholder}}
  by_uuid: {key: n, columns: {token: placeholder}}
  by_pseudonym: {key: n, columns: {email: pseudonym}}
  by_hash: {key: n, columns: {login: hash}}
`;

describe('xxx<key>, uuid, pseudonym and hash on a primary key', () => {
  it('are not flagged: no warning, and --strict masks', () => {
    const input = join(dir, 'apart.sql');
    writeFileSync(input, APART);
    const rules = rulesFile('apart.yaml', APART_RULES);
    const r = runPgcloak(['mask', '--key-file', key, '--input', input, '--rules', rules, '--vault', join(dir, 'apart.vault'), '--output', join(dir, 'apart-masked.sql'), '--strict', '--json']);
    expect(r.status).toBe(0);
    expect(jsonOf(r.stderr).warnings).toEqual([]);
    const inspect = runPgcloakOk(['inspect', input, '--rules', rules]);
    expect(inspect.stdout.toString()).toContain('\nkeys the rules break: none (every primary key, unique key and foreign key of the dump restores)\n');
  });

  it('while the same tables under a constant are: one certain warning per key, and --strict refuses', () => {
    const rules = rulesFile('apart-constant.yaml', APART_RULES.replace(/: (placeholder|pseudonym|hash)\}/g, ': empty}').replace('{token: empty}', '{token: {strategy: constant, value: a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}}'));
    const input = join(dir, 'apart.sql');
    const r = runPgcloak(['mask', '--key-file', key, '--input', input, '--rules', rules, '--vault', join(dir, 'constant.vault'), '--output', join(dir, 'constant.sql'), '--json']);
    expect(jsonOf(r.stderr).warnings.map((w) => /primary key (\w+)/.exec(w)?.[1])).toEqual(['by_placeholder_pkey', 'by_uuid_pkey', 'by_pseudonym_pkey', 'by_hash_pkey']);
    const strict = runPgcloak(['mask', '--key-file', key, '--input', input, '--rules', rules, '--vault', join(dir, 'constant2.vault'), '--output', join(dir, 'constant2.sql'), '--strict']);
    expect(strict.status).toBe(EXIT_CODES.RULES_KEY_COLLISION);
  });
});

describe('inspect --rules', () => {
  it('shows the same before masking, in text and in JSON', () => {
    const text = runPgcloakOk(['inspect', GTEST23, '--rules', X_PLACEHOLDER]).stdout.toString();
    expect(text).toContain(
      '\nkeys the rules break (the masked dump would not restore; mask warns of each, --strict refuses the certain ones):\n' + `  ${WARNING}\n`,
    );
    const json = JSON.parse(runPgcloakOk(['inspect', GTEST23, '--rules', X_PLACEHOLDER, '--json']).stdout.toString());
    expect(json.rules.keyCollisions).toHaveLength(1);
    expect(json.rules.keyCollisions[0]).toMatchObject({
      kind: 'duplicate',
      table: 'public.gtest23p',
      constraint: 'gtest23p_pkey',
      error: 'could not create unique index "gtest23p_pkey"',
      dependents: [{ constraint: 'gtest23q_b_fkey' }],
      message: WARNING,
    });
  });
});
