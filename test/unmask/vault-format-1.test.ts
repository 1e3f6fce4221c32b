// Vault format 2 (and 3) leaves the xxx<row key> placeholders out of its row records (they are made
// from the key fields the record holds); format 1 kept them. fixtures/vault-v1 holds vaults
// an older pgcloak really wrote: they must still come back byte for byte, give the same
// script as then, and a vault of today must give that same script from fewer bytes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { readKeyFile } from '../../src/vault/key.js';
import { VaultReader, type VaultRecord } from '../../src/vault/reader.js';
import { vaultTable } from '../../src/unmask/restore-plan.js';
import { runPgcloak, runPgcloakOk } from '../integration/cli.js';

const FIXTURES = 'fixtures/vault-v1';
const KEY = join(FIXTURES, 'test.key');
const dir = mkdtempSync(join(tmpdir(), 'pgcloak-vault-v1-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The fixture's dumps: input, its rules, the format 1 vault, masked dump and --sql script made with it. */
const CASES = [
  { name: 'UTF8', input: 'input.sql', rules: 'rules.yaml', vault: 'v1.vault', masked: 'masked.sql', script: 'restore.sql' },
  { name: 'LATIN1', input: 'latin1.sql', rules: 'latin1-rules.yaml', vault: 'latin1-v1.vault', masked: 'latin1-masked.sql', script: 'latin1-restore.sql' },
] as const;

const fixture = (f: string): string => join(FIXTURES, f);
const read = (f: string): Buffer => readFileSync(f);

/** Every record of a vault, and its format version. */
function records(path: string): { version: number; records: VaultRecord[] } {
  const reader = VaultReader.open(path, { kind: 'key', key: readKeyFile(KEY) });
  const out: VaultRecord[] = [];
  try {
    for (let r = reader.next(); r !== null; r = reader.next()) out.push(r);
    return { version: reader.formatVersion, records: out };
  } finally {
    reader.close();
  }
}

/** A --sql script without its second line, which names when the vault was made. */
function withoutMadeLine(script: Buffer): string {
  const lines = script.toString('latin1').split('\n');
  expect(lines[1]).toMatch(/^-- Written by pgcloak .* from a vault made /);
  lines.splice(1, 1);
  return lines.join('\n');
}

describe.each(CASES)('vault format 1 ($name dump)', (c) => {
  const script = join(dir, `${c.name}-v1.sql`);
  const back = join(dir, `${c.name}-back.sql`);

  it('is still read: the masked dump comes back byte for byte', () => {
    runPgcloakOk(['unmask', '--vault', fixture(c.vault), '--key-file', KEY, '--input', fixture(c.masked), '--output', back, '--quiet']);
    expect(read(back).equals(read(fixture(c.input)))).toBe(true);
    expect(records(fixture(c.vault)).version).toBe(1);
  });

  it('gives the script it gave when it was written', () => {
    runPgcloakOk(['unmask', '--vault', fixture(c.vault), '--key-file', KEY, '--sql', '--output', script, '--quiet']);
    expect(read(script).equals(read(fixture(c.script)))).toBe(true);
  });
});

describe.each(CASES)('vault format 2 and later ($name dump)', (c) => {
  const vault = join(dir, `${c.name}-v2.vault`);
  const masked = join(dir, `${c.name}-masked.sql`);
  const script = join(dir, `${c.name}-v2.sql`);
  const back = join(dir, `${c.name}-back2.sql`);
  runPgcloakOk(['mask', '--rules', fixture(c.rules), '--vault', vault, '--key-file', KEY, '--input', fixture(c.input), '--output', masked, '--quiet']);

  it('masks as format 1 did, and comes back byte for byte', () => {
    expect(read(masked).equals(read(fixture(c.masked)))).toBe(true);
    runPgcloakOk(['unmask', '--vault', vault, '--key-file', KEY, '--input', masked, '--output', back, '--quiet']);
    expect(read(back).equals(read(fixture(c.input)))).toBe(true);
  });

  it('gives the script format 1 gave, every xxx<row key> made from the key', () => {
    runPgcloakOk(['unmask', '--vault', vault, '--key-file', KEY, '--sql', '--output', script, '--quiet']);
    expect(withoutMadeLine(read(script))).toBe(withoutMadeLine(read(fixture(c.script))));
  });

  it('keeps the same originals and keys, without the xxx<row key> values', () => {
    const old = records(fixture(c.vault));
    const now = records(vault);
    expect(now.version).toBe(3);
    const tables = (rs: VaultRecord[]) => rs.flatMap((r) => (r.type === 'table' ? [r.decl] : []));
    const rows = (rs: VaultRecord[]) => rs.flatMap((r) => (r.type === 'row' ? [r] : []));
    const oldRows = rows(old.records);
    const nowRows = rows(now.records);
    expect(nowRows.length).toBe(oldRows.length);
    let left = 0;
    nowRows.forEach((r, i) => {
      const o = oldRows[i]!;
      const decl = vaultTable(tables(now.records).find((d) => d.index === r.tableIndex)!);
      const before = vaultTable(tables(old.records).find((d) => d.index === o.tableIndex)!);
      const kept = decl.keyColumns.length + decl.maskedColumns.length;
      expect([r.tableIndex, r.ordinal]).toEqual([o.tableIndex, o.ordinal]);
      // Key fields and originals as they were; the derived values of format 1 less the keyText ones.
      expect(r.fields.slice(0, kept)).toEqual(o.fields.slice(0, kept));
      const derivedThen = before.derivedColumns.map((name, d) => [name, o.fields[kept + d]!] as const);
      expect(r.fields.slice(kept)).toEqual(derivedThen.filter(([name]) => !decl.keyTextColumns.includes(name)).map(([, f]) => f));
      left += derivedThen.length - (r.fields.length - kept);
      expect(before.keyTextColumns).toEqual([]);
    });
    expect(left).toBeGreaterThan(0);
  });
});

describe('a vault of format 2 or later read by what it declares', () => {
  const decl = {
    index: 0,
    table: 'public.t',
    encoding: 'copy-text',
    keyColumns: ['id'],
    maskedColumns: ['a', 'b'],
    strategies: ['placeholder', 'placeholder'],
    types: ['text', 'varchar(4)'],
    maskedConstants: [null, null],
    derivedColumns: ['a'],
    keyTextColumns: ['b'],
    keyTextMaxLengths: [4],
  };

  it('takes a consistent declaration', () => {
    expect(vaultTable(decl).keyTextColumns).toEqual(['b']);
    const { keyTextColumns: _c, keyTextMaxLengths: _l, ...format1 } = decl;
    expect(vaultTable(format1).keyTextColumns).toEqual([]);
  });

  it.each([
    ['a keyText column that is also kept', { keyTextColumns: ['a'], keyTextMaxLengths: [null] }],
    ['a keyText column that is not masked', { keyTextColumns: ['c'], keyTextMaxLengths: [null] }],
    ['lengths that do not match', { keyTextColumns: ['b'], keyTextMaxLengths: [] }],
    ['a length that is not a count', { keyTextColumns: ['b'], keyTextMaxLengths: [0] }],
    ['columns without lengths', { keyTextColumns: ['b'], keyTextMaxLengths: undefined }],
  ])('refuses %s', (_what, change) => {
    expect(() => vaultTable({ ...decl, ...change })).toThrow(/lacks what a reversal inside a database needs/);
  });

  it('refuses a version it does not know, naming the ones it reads', () => {
    const bytes = read(fixture('v1.vault'));
    bytes[8] = 4;
    const path = join(dir, 'v4.vault');
    writeFileSync(path, bytes);
    const r = runPgcloak(['unmask', '--vault', path, '--key-file', KEY, '--input', fixture('masked.sql'), '--output', join(dir, 'never.sql')]);
    expect(r.status).toBe(EXIT_CODES.VAULT_FORMAT);
    expect(r.stderr).toContain('unsupported vault format version 4 (this pgcloak reads versions 1, 2 and 3)');
  });
});
