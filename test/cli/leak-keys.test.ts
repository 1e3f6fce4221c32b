// The leak scan and json keys (issue 21, item 4): masking keeps every key of a masked json
// value, so a phone number used as a key is still in the output, in that column and wherever
// it was copied. --leak-check and scan must find it; field-name keys must not be reported.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { describeRun, runPgcloak, runPgcloakOk } from '../integration/cli.js';

const DUMP = `--
-- PostgreSQL database dump
--

SET standard_conforming_strings = on;
CREATE TABLE public.contact (id integer NOT NULL, reach jsonb, audit jsonb);
COPY public.contact (id, reach, audit) FROM stdin;
1	{"+49 30 1234567": "mobile", "en_US": "Call me"}	{"changed": {"+49 30 1234567": true}}
2	{"en_US": "Write me", "street2": "Hauptstraße 5"}	{"en_US": "edited"}
\\.

--
-- PostgreSQL database dump complete
--
`;

let dir: string;
const at = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgcloak-cli-keys-'));
  writeFileSync(at('dump.sql'), DUMP);
  writeFileSync(at('rules.yaml'), 'tables:\n  contact:\n    columns:\n      reach: placeholder\n');
  runPgcloakOk(['keygen', '--output', at('k'), '-q']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('json keys in the leak scan', () => {
  it('finds a phone number used as a key, where masking kept it and where it was copied (LEAKS_FOUND)', () => {
    const args = ['mask', '--rules', at('rules.yaml'), '--vault', at('v'), '--key-file', at('k'), '-i', at('dump.sql'), '-o', at('m.sql'), '--leak-check'];
    const r = runPgcloak(args);
    expect(r.status, describeRun(args, r)).toBe(EXIT_CODES.LEAKS_FOUND);
    expect(r.stderr).toMatch(/^ {2}public\.contact\.audit +1 {2}first at line 8$/m);
    // The masked column keeps its keys (placeholders keep json keys): the scan says so too.
    expect(r.stderr).toMatch(/^ {2}public\.contact\.reach +1 {2}first at line 8$/m);
    // Field-name keys (en_US, street2) are structure: not looked for, so not found in row 2.
    expect(r.stderr).toContain('(2 find(s))');
    expect(r.stderr).not.toContain('1234567');
  });

  it('pgcloak scan finds the same in a dump masked with --allow-leaks', () => {
    runPgcloakOk(['mask', '--rules', at('rules.yaml'), '--vault', at('v2'), '--key-file', at('k'), '-i', at('dump.sql'), '-o', at('m2.sql'), '--leak-check', '--allow-leaks', '-q']);
    const r = runPgcloak(['scan', '--vault', at('v2'), '--key-file', at('k'), '--json', at('m2.sql')]);
    expect(r.status).toBe(EXIT_CODES.LEAKS_FOUND);
    expect(JSON.parse(r.stdout.toString()).places.map((p: { name: string }) => p.name)).toEqual(['public.contact.reach', 'public.contact.audit']);
  });
});
