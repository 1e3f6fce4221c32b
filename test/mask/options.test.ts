// Options checked once, before anything is read or written: every problem at once, as
// `path: message` in the library's words; the CLI shows the same problems by their flags.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { messageWithFlags } from '../../src/cli/option-flags.js';
import { OptionsError } from '../../src/errors.js';
import type { RawCopyInput } from '../../src/engine/raw-copy.js';
import { normalizeMaskOptions, type MaskOptions } from '../../src/mask/options.js';
import { maskDump } from '../../src/mask/run.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { normalizeUnmaskOptions } from '../../src/unmask/options.js';
import { generateKeyFile, readKeyFile } from '../../src/vault/key.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RAW: RawCopyInput = { format: 'copy-csv', table: 'public.t', columns: ['id', 'name'], header: false, delimiter: ',', quote: '"', schemaText: undefined };

function options(overrides: Partial<MaskOptions>): MaskOptions {
  return { input: Readable.from([]), output: new Writable({ write: (_c, _e, cb) => cb() }), rules: parseRules('tables: {}\n'), ...overrides };
}

describe('normalizeMaskOptions', () => {
  it('gives a frozen config with the defaults filled in, raw COPY options read into bytes', () => {
    const normalized = normalizeMaskOptions(options({ raw: RAW }));
    if (!normalized.ok) throw new Error(JSON.stringify(normalized.problems));
    const config = normalized.config;
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.threads).toBe(1);
    expect(config.strict).toBe(false);
    expect(config.raw).toMatchObject({ key: 'public.t', columns: ['id', 'name'], csv: { delimiter: 0x2c, quote: 0x22, header: false } });
    expect(config.raw?.input).toEqual(RAW);
  });

  it('names every problem at once, by its path, in the library\'s words', () => {
    const normalized = normalizeMaskOptions(options({ threads: 0, raw: { ...RAW, table: 'a.b.c', delimiter: ';;', quote: 'é' } }));
    expect(normalized.ok).toBe(false);
    if (normalized.ok) return;
    expect(normalized.problems).toEqual([
      { path: 'threads', message: 'must be a whole number from 1 to 64' },
      { path: 'raw.table', message: '"a.b.c" is not a table name' },
      { path: 'raw.delimiter', message: 'must be one ASCII character' },
      { path: 'raw.quote', message: 'must be one ASCII character' },
    ]);
    const binary = normalizeMaskOptions(options({ raw: { ...RAW, format: 'copy-binary' } }));
    expect(binary.ok ? [] : binary.problems).toEqual([{ path: 'raw.format', message: "copy-binary needs `raw.schemaText`: binary values can only be read with every column's type" }]);
  });

  it('the CLI shows the same problems by their flags', () => {
    const normalized = normalizeMaskOptions(options({ threads: 65, raw: { ...RAW, format: 'copy-binary', delimiter: '' } }));
    if (normalized.ok) throw new Error('expected problems');
    const err = new OptionsError(normalized.problems);
    expect(err.code).toBe('USAGE');
    expect(err.message).toBe("USAGE: threads: must be a whole number from 1 to 64\n  raw.format: copy-binary needs `raw.schemaText`: binary values can only be read with every column's type");
    expect(messageWithFlags(err)).toBe("USAGE: --threads: must be a whole number from 1 to 64\n  --format: copy-binary needs --schema: binary values can only be read with every column's type");
  });
});

describe('maskDump and unmaskDump', () => {
  it('refuse options that cannot be used before a vault is made', async () => {
    const key = join(dir, 'k');
    generateKeyFile(key);
    const vault = join(dir, 'v');
    const run = maskDump(options({ raw: { ...RAW, quote: 'xx' }, vault: { path: vault, keySource: { kind: 'key', key: readKeyFile(key) } } }));
    await expect(run).rejects.toBeInstanceOf(OptionsError);
    await expect(run).rejects.toMatchObject({ problems: [{ path: 'raw.quote', message: 'must be one ASCII character' }] });
    expect(existsSync(vault)).toBe(false);
    expect(normalizeUnmaskOptions({ input: Readable.from([]), output: new Writable(), vault: { path: vault, keySource: { kind: 'key', key: readKeyFile(key) } }, threads: 1.5 })).toEqual({
      ok: false,
      problems: [{ path: 'threads', message: 'must be a whole number from 1 to 64' }],
    });
  });
});
