// The row masker's byte-level shortcuts against the general way they stand in for:
// `xxx<key>` built from the key field's bytes (RowMasker's COPY_KEY_TEXT) must equal
// fitPlaceholderText of the decoded key, COPY-encoded; batches masked by the kernel
// (mask/copy-kernel.ts, used when records are appended whole, as for the vault writer
// and worker threads) must give the bytes and records of the general path (row by row,
// records through the vault's row() and writeRowRecord).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCopyField } from '../../src/copy/text-field.js';
import type { VaultSink } from '../../src/vault/writer.js';
import type { FieldRef } from '../../src/engine/row-masker.js';
import { encodeSqlLiteral } from '../../src/dump/sql-literal.js';
import { fitPlaceholderText } from '../../src/strategies/text-fit.js';
import { rowRecordSize, writeRowRecord } from '../../src/vault/row-record.js';
import { errorOf, maskInMemory, TestArea } from './run-in-memory.js';
import { rowKernel } from '../../src/engine/kernel-choice.js';
import { copyTextCodec } from '../../src/engine/field-codecs.js';
import { RecordShape } from '../../src/engine/masked-record.js';
import { eachCopyRow, maskRow } from '../../src/engine/masked-row.js';
import { RecordBuffer } from '../../src/engine/record-buffer.js';
import { RowMasker } from '../../src/engine/row-masker.js';
import type { TablePlan } from '../../src/engine/table-plans.js';
import type { ResolvedType } from '../../src/schema/types.js';
import { placeholderMask } from '../../src/strategies/placeholder.js';

/** Records as the vault's row() serializes them. */
class RowVault implements VaultSink {
  readonly viaRow: Buffer[] = [];
  declareTable(): void {}
  statement(): void {}
  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void {
    const bytes = Buffer.alloc(rowRecordSize(tableIndex, ordinal, fields));
    writeRowRecord(bytes, 0, tableIndex, ordinal, fields);
    this.viaRow.push(bytes);
  }
}

/** Records as the masker serializes them for appendRecords (as it does for the vault writer). */
class AppendVault extends RowVault {
  readonly appended: Buffer[] = [];
  appendRecords(bytes: Uint8Array): void {
    this.appended.push(Buffer.from(bytes));
  }
}

const HEADER = "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\n";

function dump(maxLength: number, rows: readonly (readonly [string | null, string | null, string | null, string])[]): Buffer {
  const lines = rows.map((r) => r.map((v) => encodeCopyField(v).toString('utf8')).join('\t'));
  return Buffer.from(
    `${HEADER}CREATE TABLE public.t (\n    id text,\n    name character varying(${maxLength}),\n    note text,\n    tag text\n);\n\n` +
      `COPY public.t (id, name, note, tag) FROM stdin;\n${lines.map((l) => `${l}\n`).join('')}\\.\n\n`,
  );
}

const RULES = 'tables:\n  t:\n    columns:\n      name: placeholder\n      note: placeholder\n';

// Keys of every kind: plain ASCII (the shortcut), and backslashes, tabs, newlines,
// control bytes and non-ASCII (the general way), some longer than the column.
const keyChars = fc.constantFrom('1', '7', 'a', 'Z', ' ', '-', '~', '\\', '\t', '\n', '\r', '\x01', '\x7f', 'é', '🎉', '"');
const key = fc.oneof(fc.string({ unit: keyChars, maxLength: 14 }), fc.nat().map(String), fc.constant(null));
const value = fc.oneof(fc.constant(null), fc.string({ maxLength: 4 }), fc.string({ minLength: 120, maxLength: 300 }));
const row = fc.tuple(key, value, value, fc.string({ maxLength: 6 }));

describe('row masker shortcuts', () => {
  it('writes xxx<key> from the key bytes exactly as the general way would, for any key and column length', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(row, { minLength: 1, maxLength: 12 }), async (maxLength, rows) => {
        // The batch kernel (records appended whole) and the general path (records by row()).
        const { output } = await maskInMemory([dump(maxLength, rows)], RULES, new AppendVault());
        const general = await maskInMemory([dump(maxLength, rows)], RULES, new RowVault());
        expect(general.output.equals(output)).toBe(true);
        const expected = rows.map(([id, name, note, tag]) => {
          const k = id ?? '';
          const masked = [id, name === null ? null : fitPlaceholderText(k, maxLength), note === null ? null : `xxx${k}`, tag];
          return masked.map((v) => encodeCopyField(v).toString('utf8')).join('\t');
        });
        // The COPY data: the lines up to the one that is `\.` (a field may end in an escaped `\\.`).
        const lines = output.toString('utf8').split('FROM stdin;\n')[1]!.split('\n');
        expect(lines.slice(0, lines.indexOf('\\.'))).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('serializes vault records in one pass to the bytes the vault writer makes of the same fields', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(row, { minLength: 1, maxLength: 12 }), async (maxLength, rows) => {
        const input = dump(maxLength, rows);
        const byRow = new RowVault();
        const appended = new AppendVault();
        const a = await maskInMemory([input], RULES, byRow);
        const b = await maskInMemory([input], RULES, appended);
        expect(b.output.equals(a.output)).toBe(true);
        expect(appended.viaRow).toEqual([]);
        expect(byRow.viaRow.length).toBe(rows.length);
        expect(Buffer.concat(appended.appended).equals(Buffer.concat(byRow.viaRow))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('gives the general path\'s bytes, records or error for any row: field counts, CR line ends, json that grows, a last line without its end', async () => {
    const json = fc.oneof(
      fc.constant('\\N'),
      fc.array(fc.tuple(fc.constantFrom('a', 'b', 'name'), fc.string({ maxLength: 3 })), { maxLength: 40 }).map((kv) => JSON.stringify(Object.fromEntries(kv)).replaceAll('\\', '\\\\')),
    );
    const field = fc.oneof(fc.constant('\\N'), fc.stringMatching(/^[a-z0-9 ]{0,5}$/), fc.string({ minLength: 100, maxLength: 200, unit: fc.constantFrom('a', 'é', ' ') }));
    // Mostly 5 fields (id, name, note, tag, doc); sometimes one more or one less.
    const line = fc.tuple(fc.nat(999).map(String), field, field, field, json, fc.constantFrom(5, 5, 5, 5, 4, 6), fc.constantFrom('\n', '\n', '\r\n'))
      .map(([id, a, b, c, doc, count, eol]) => [id, a, b, c, doc, 'extra'].slice(0, count).join('\t') + eol);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.array(line, { minLength: 1, maxLength: 10 }), fc.boolean(), async (maxLength, lines, cutLast) => {
        const body = lines.join('');
        const data = cutLast ? body.replace(/\r?\n$/, '') : body;
        const input = Buffer.from(
          `${HEADER}CREATE TABLE public.t (\n    id text,\n    name character varying(${maxLength}),\n    note text,\n    tag text,\n    doc jsonb\n);\n\n` +
            `COPY public.t (id, name, note, tag, doc) FROM stdin;\n${data}${cutLast ? '\n' : ''}\\.\n\n`,
        );
        const rules = 'tables:\n  t:\n    columns:\n      name: placeholder\n      note: placeholder\n      doc: placeholder\n';
        const run = async (vault: RowVault): Promise<{ output?: Buffer; records?: Buffer; error?: unknown }> => {
          try {
            const r = await maskInMemory([input], rules, vault);
            return { output: r.output, records: Buffer.concat(vault instanceof AppendVault ? vault.appended : vault.viaRow) };
          } catch {
            const e = await errorOf(() => maskInMemory([input], rules, vault instanceof AppendVault ? new AppendVault() : new RowVault()));
            return { error: [e.code, e.message] };
          }
        };
        const kernel = await run(new AppendVault());
        const general = await run(new RowVault());
        expect(kernel).toEqual(general);
      }),
      { numRuns: 150 },
    );
  });

  it('writes xxx<key> in INSERT rows as encodeSqlLiteral of fitPlaceholderText would: numbers, quoted keys, any characters, both string modes', async () => {
    const sqlKey = fc.oneof(
      fc.nat().map((n) => ({ literal: String(n), text: String(n) })),
      fc.string({ unit: keyChars, maxLength: 10 }).map((t) => ({ literal: `'${t.replaceAll("'", "''")}'`, text: t })),
      fc.constantFrom({ literal: "'it''s'", text: "it's" }, { literal: "E'a\\\\b'", text: 'a\\b' }, { literal: 'NULL', text: '' }, { literal: '-4', text: '-4' }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(fc.tuple(sqlKey, fc.boolean()), { minLength: 1, maxLength: 8 }), fc.boolean(), async (maxLength, rows, standard) => {
        const keys = standard ? rows : rows.filter(([k]) => !k.text.includes('\\'));
        fc.pre(keys.length > 0); // a discard, not a silent pass: fast-check draws another
        const inserts = keys.map(([k, nul]) => `INSERT INTO public.t (id, name) VALUES (${k.literal}, ${nul ? 'NULL' : "'secret'"});\n`).join('');
        const input = Buffer.from(
          `SET client_encoding = 'UTF8';\nSET standard_conforming_strings = ${standard ? 'on' : 'off'};\n\nCREATE TABLE public.t (\n    id text,\n    name character varying(${maxLength})\n);\n\n${inserts}`,
        );
        const rules = 'tables:\n  t:\n    columns:\n      name: placeholder\n';
        const { output } = await maskInMemory([input], rules, new AppendVault());
        const expected = keys.map(([k, nul]) => {
          const value = nul ? 'NULL' : encodeSqlLiteral(fitPlaceholderText(k.text, maxLength), { standardStrings: standard, encoding: 'utf8' }).toString('utf8');
          return `INSERT INTO public.t (id, name) VALUES (${k.literal}, ${value});\n`;
        });
        const text = output.toString('utf8');
        expect(text.slice(text.indexOf('INSERT INTO'))).toBe(expected.join(''));
      }),
      { numRuns: 150 },
    );
  });

  it('keeps within the room it reserves, even for keys that grow when escaped again (raw CRs)', () => {
    // Output and records into areas that grant exactly the room asked for: a kernel that wrote
    // past it would lose bytes, and differ from the general path.
    const type: ResolvedType = { kind: 'text', display: 'text', base: 'text', notNull: false };
    const column = { table: 'public.t', column: 'name', type, notNull: false, path: 'p', warn: () => undefined, columns: ['id', 'name'], masked: new Set(['name']), secret: undefined };
    const mask = placeholderMask(column, type);
    if (mask.kind === 'keep') throw new Error('unexpected keep');
    const plan: TablePlan = {
      index: 0,
      table: 'public.t',
      ruleTable: 'public.t',
      columnNames: ['id', 'name'],
      keyIndexes: [0],
      keyNames: ['id'],
      masked: [{ name: 'name', strategy: 'placeholder', type, mask, spec: { strategy: 'placeholder', params: {}, column: { ...column, masked: ['name'] } }, index: 1 }],
      keyTextKept: false,
    };
    const codec = copyTextCodec({ encoding: 'utf8', fromUnicode: (t) => t });
    const rows = Buffer.from(['\r'.repeat(40) + '\tx\n', '7\tsecret\n', '\r\r\r\tabc\n'].join(''), 'utf8');
    const kernelOut = new TestArea();
    const kernelRecords = new TestArea();
    const rm = new RowMasker(plan, codec);
    const shape = new RecordShape(plan);
    const kernelRecorder = new RecordBuffer();
    let handedOver = 0;
    rowKernel().maskBatch(rm, shape, rows, 0, rows.length, 0, 1, 0, kernelOut, kernelRecords, (s, e, lineEnd, n, at) => {
      handedOver++;
      rm.splitCopyRow(rows, s, e, at);
      const changed = maskRow(rm, shape, n, rows, s, e, at, kernelOut, kernelRecorder);
      kernelOut.write(rows, e, lineEnd);
      return changed;
    });
    // The rows of CRs do not fit what was reserved for them: the general path writes them.
    expect(handedOver).toBeGreaterThanOrEqual(1);
    const generalOut = new TestArea();
    const records = new RecordBuffer();
    const general = new RowMasker(plan, codec);
    eachCopyRow(general, rows, 0, rows.length, 1, 0, generalOut, (s, e, at) => maskRow(general, shape, 1, rows, s, e, at, generalOut, records));
    expect(kernelOut.view().toString('latin1')).toBe(generalOut.view().toString('latin1'));
  });
});
