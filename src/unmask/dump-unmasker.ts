// Reversing a masked dump, byte for byte: each row of a planned table gets its
// original fields back from the vault. Before a row is written, the candidate
// original is masked again and must give exactly the masked row read, so a dump
// that is not the one the vault was made for is refused at its first differing row.

import { PgcloakError, type SourcePosition } from '../errors.js';
import type { VaultRecord } from '../vault/reader.js';
import type { CopyDataMode, StatementWalk } from '../dump/sql-scanner.js';
import type { RuleSet } from '../rules/rules-file.js';
import type { ByteArea, Push } from '../io/byte-sink.js';
import { RecordFields, RowRestorer } from '../engine/row-restorer.js';
import { DumpProcessor, type ActiveTable, type ProcessorOptions } from '../engine/dump-processor.js';
import { LONG_ROW_BYTES } from '../engine/masked-row.js';
import { tableDeclaration } from '../engine/table-declaration.js';
import { planSpec } from '../engine/workers/messages.js';
import type { RowWorkers } from '../engine/workers/row-workers.js';
import type { TablePlan } from '../engine/table-plans.js';
import type { FieldEncoding } from '../engine/field-codecs.js';
import type { StatisticsVerdict } from '../engine/statistics.js';
import type { InsertHeader } from '../dump/insert-statement.js';
import { rowKernel } from '../engine/kernel-choice.js';
import type { InsertWalker, RowKernel } from '../engine/row-kernel.js';

/** Where the originals come from: the vault reader, or anything with its shape. */
export interface VaultSource {
  next(): VaultRecord | null;
  /** The next `count` row records as the vault holds them (fewer if other records come first); needed for worker threads. */
  rowRecords?(count: number): Buffer;
  /** The vault's format version (VaultReader.formatVersion); 1 keeps xxx<row key> in its rows. Default: the current one. */
  readonly formatVersion?: number;
}

/**
 * Unmask hands over runs of masked rows half the size masking does: a batch's records and
 * restored rows are several times its masked bytes (ir_logging's about 7x), and the slots
 * that carry them to and from the workers were most of an unmask's peak memory (the figures:
 * bench/RESULTS.md).
 */
const UNMASK_BATCH_BYTES = 128 * 1024;

const NOT_THIS_DUMP = 'the input is not the masked dump this vault was made for';

/** Names for a message: the first few, and how many more. */
function someNames(names: readonly string[]): string {
  return names.length > 4 ? `${names.slice(0, 4).join(', ')} and ${names.length - 4} more` : names.join(', ');
}

/**
 * What differs between the vault's declaration of a table and the input's, in short: the
 * values are column names, types and strategies, never data.
 */
function declarationDifferences(vault: Record<string, unknown>, input: Record<string, unknown>): string {
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  const out: string[] = [];
  const [vk, ik] = [strings(vault['keyColumns']), strings(input['keyColumns'])];
  if (vk.join('\0') !== ik.join('\0')) out.push(`key: vault (${vk.join(', ') || 'row position'}), input (${ik.join(', ') || 'row position'})`);
  if (vault['encoding'] !== input['encoding']) out.push(`rows: vault ${String(vault['encoding'])}, input ${String(input['encoding'])}`);
  const [vc, ic] = [strings(vault['maskedColumns']), strings(input['maskedColumns'])];
  const onlyVault = vc.filter((c) => !ic.includes(c));
  const onlyInput = ic.filter((c) => !vc.includes(c));
  if (onlyVault.length > 0) out.push(`masked columns only the vault's has: ${someNames(onlyVault)}`);
  if (onlyInput.length > 0) out.push(`masked columns only the input has: ${someNames(onlyInput)}`);
  const [vt, it] = [strings(vault['types']), strings(input['types'])];
  const retyped = vc.flatMap((c, j) => {
    const k = ic.indexOf(c);
    return k !== -1 && vt[j] !== it[k] ? [`${c} ${vt[j] ?? '?'} → ${it[k] ?? '?'}`] : [];
  });
  if (retyped.length > 0) out.push(`types: ${someNames(retyped)}`);
  if (out.length === 0 && vc.join('\0') !== ic.join('\0')) out.push('masked columns in another order');
  if (out.length === 0) {
    for (const name of new Set([...Object.keys(vault), ...Object.keys(input)])) {
      if (JSON.stringify(vault[name]) !== JSON.stringify(input[name])) out.push(`its ${name}`);
    }
  }
  return out.join('; ');
}

/** How an unmasker is made (unmask/run.ts gives them from the vault and the normalised options). */
export interface UnmaskerOptions extends Omit<ProcessorOptions, 'kernel' | 'keyTextKept' | 'batchBytes'> {
  /** Restore the rows of COPY blocks on these threads too (the vault must give rowRecords). */
  workers?: RowWorkers | undefined;
  /** The row kernel (default: the run's, ../engine/kernel-choice.ts). */
  kernel?: RowKernel | undefined;
}

export class DumpUnmasker extends DumpProcessor {
  private readonly vault: VaultSource;
  /** The tables whose declaration the vault gave so far, by plan index: for messages. */
  private readonly declared = new Map<number, string>();
  /** Per plan index. */
  private readonly restorers: RowRestorer[] = [];
  private readonly record = new RecordFields();
  private readonly workers: RowWorkers | undefined;

  /** The kernel's walk through INSERT statements (takeInserts), when it has one and the vault gives raw records. */
  private readonly insertWalker: InsertWalker | undefined;
  private insertRows = new Int32Array(4096);
  private readonly takeInsertsHere = (buf: Buffer, start: number, end: number, at: SourcePosition) => this.takeInserts(buf, start, end, at);

  /** `vault`: where the originals come from. */
  constructor(rules: RuleSet, push: Push, vault: VaultSource, options: UnmaskerOptions = {}) {
    const kernel = options.kernel ?? rowKernel();
    // The plans must read the records as the vault's version wrote them, and declare its tables as it did.
    super(rules, push, { ...options, kernel, batchBytes: UNMASK_BATCH_BYTES, keyTextKept: vault.formatVersion === 1 });
    const workers = options.workers;
    this.vault = vault;
    this.workers = workers && vault.rowRecords ? workers : undefined;
    this.insertWalker = vault.rowRecords ? kernel.insertWalker : undefined;
  }

  /** Batches whenever the vault gives raw row records: a call per batch, no record object per row. */
  protected override copyRowsMode(): CopyDataMode {
    return this.vault.rowRecords ? 'batch' : 'rows';
  }

  protected override plannedRows(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition, count: number): void {
    const first = t.counter.rows;
    t.counter.rows += count;
    // In order on this thread: the vault is read here, and a batch takes its rows' records.
    const records = this.vault.rowRecords!(count);
    const workers = this.workers;
    const restorer = this.restorer(t);
    // With workers, every batch goes to them (unlike masking): this thread decrypts the vault
    // and walks its records, and restoring batches itself whenever they had a few queued
    // left the worker idle half the time (bench/RESULTS.md, 2026-12-02, third session).
    // Not a long row or record (a document): on a worker both would be copied into shared memory
    // that stays that large for the next batches (issue 18).
    if (workers && end - start < LONG_ROW_BYTES && records.length < LONG_ROW_BYTES) {
      this.sendBatch(t, workers.restoreRows(t.plan.index, buf.subarray(start, end), records, { ordinal: first, line: at.line, offset: at.offset }));
      return;
    }
    // This thread restores the batch itself.
    const restore = (out: ByteArea): void => {
      t.stats.changedRows += this.kernel.restoreBatch(restorer, buf, start, end, records, first, at.line, at.offset, out);
    };
    if (this.ordered.idle) restore(this.out);
    else this.writeInTurn(restore);
  }

  protected onPlan(plan: TablePlan, encoding: FieldEncoding, at: SourcePosition): void {
    this.workers?.declarePlan(planSpec(plan, this.encodingName));
    const rec = this.vault.next();
    const expected = tableDeclaration(plan, encoding);
    if (!rec || rec.type !== 'table' || JSON.stringify(rec.decl) !== JSON.stringify(expected)) {
      throw new PgcloakError('VAULT_MISMATCH', this.declarationMismatch(rec, expected), { table: plan.table, line: at.line, offset: at.offset });
    }
    this.declared.set(plan.index, plan.table);
  }

  /**
   * Why the vault's next record is not this table's declaration, in the terms a user can act
   * on: at the first table the input is most likely another dump (issue 18: this used to read
   * "made for another dump or other rules" at "byte 0", and an input with none of the vault's
   * tables "the dump was cut or edited").
   */
  private declarationMismatch(rec: VaultRecord | null, expected: ReturnType<typeof tableDeclaration>): string {
    const first = this.declared.size === 0;
    const last = [...this.declared.values()].at(-1);
    if (rec === null) {
      return first
        ? `${NOT_THIS_DUMP}: the vault holds no table's originals, the input has masked rows of ${expected.table}`
        : `the masked dump has rows of ${expected.table} after the last table the vault holds originals of (${last}): tables were added (the dump was edited), or ${NOT_THIS_DUMP}`;
    }
    if (rec.type === 'row') {
      return `the vault holds more rows of ${this.tableName(rec.tableIndex)} than the masked dump: rows were removed (the dump was edited), or ${NOT_THIS_DUMP}`;
    }
    if (rec.type === 'statement') {
      return `the vault holds a statistics statement where the masked dump has rows of ${expected.table}: the dump was edited, or ${NOT_THIS_DUMP}`;
    }
    const decl = rec.decl as Record<string, unknown>;
    if (decl['table'] !== expected.table) {
      return first
        ? `${NOT_THIS_DUMP}: its first masked table is ${expected.table}, the vault's is ${String(decl['table'])}`
        : `the vault's next table is ${String(decl['table'])}, the masked dump's is ${expected.table}: tables were added, removed or reordered (the dump was edited), or ${NOT_THIS_DUMP}`;
    }
    const differ = declarationDifferences(decl, expected);
    return `the input declares ${expected.table} otherwise than the dump the vault was made for (${differ}): ${first ? NOT_THIS_DUMP : `its DDL was edited, or ${NOT_THIS_DUMP}`}`;
  }

  private tableName(index: number): string {
    return this.declared.get(index) ?? `table ${index}`;
  }

  /**
   * Statistics masking reduced: the vault's next record is the statement as it was, which must
   * reduce to exactly the one read.
   */
  protected statisticsStatement(text: Buffer, verdict: Exclude<StatisticsVerdict, { action: 'refuse' }>, at: SourcePosition): void {
    if (verdict.action === 'pass') {
      this.verbatim(text, 0, text.length);
      return;
    }
    const rec = this.vault.next();
    const original = rec?.type === 'statement' ? rec.text : undefined;
    const again = original && this.statisticsVerdict(original, at);
    if (!original || again?.action !== 'reduce' || !again.reduced.equals(text)) {
      throw new PgcloakError('VAULT_MISMATCH', 'the vault does not hold these statistics next: the masked dump was edited, or belongs to another vault', { ...at });
    }
    this.verbatim(original, 0, original.length);
  }

  protected plannedRow(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition): void {
    const ordinal = ++t.counter.rows;
    const rec = this.vault.next();
    let fields: RecordFields | undefined;
    if (rec?.type === 'row') {
      fields = this.record;
      fields.tableIndex = rec.tableIndex;
      fields.ordinal = rec.ordinal;
      fields.count = rec.fields.length;
      rec.fields.forEach((f, k) => fields!.set(k, f, 0, f.length));
    }
    if (this.restorer(t).restore(buf, start, end, ordinal, fields, at, this.out)) t.stats.changedRows++;
  }

  /**
   * After an INSERT statement restored row by row: the statements with the same header that
   * follow are walked natively, whole statements at a time (takeInserts), as long as their
   * rows are plain (standard strings only: the walk reads no escapes).
   */
  protected override insertDone(t: ActiveTable, text: Buffer, header: InsertHeader): StatementWalk | undefined {
    if (this.insertWalker && this.router.literal.standardStrings) return this.insertWalk(t, text, header, this.takeInsertsHere);
    return undefined;
  }

  /** The statements from `start` the kernel's INSERT walk takes, restored (see insertDone); undefined when none. */
  private takeInserts(buf: Buffer, start: number, end: number, at: SourcePosition): { end: number; lines: number } | undefined {
    const { table: t, bytes, fields } = this.walkHeader!;
    // Row offsets from the first statement's (a chunk's fit in 32 bits, a dump's may not).
    let walked = this.insertWalker!.walk(buf, start, end, bytes, fields, Infinity, this.insertRows, 0, 0, at.line, -start);
    while (walked.needsRows) {
      this.insertRows = new Int32Array(this.insertRows.length * 2);
      walked = this.insertWalker!.walk(buf, start, end, bytes, fields, Infinity, this.insertRows, 0, 0, at.line, -start);
    }
    if (walked.statements === 0) return undefined;
    const { end: taken, rows: count, lines } = walked;
    const rows = this.insertRows.subarray(0, count * (4 + 2 * fields));
    const first = t.counter.rows;
    t.counter.rows += count;
    t.stats.rows = t.counter.rows;
    // In order on this thread: the vault is read here.
    const records = this.vault.rowRecords!(count);
    const restorer = this.restorer(t);
    const restore = (out: ByteArea): void => {
      t.stats.changedRows += this.kernel.restoreInserts(restorer, buf, start, taken, rows, first, at.offset, records, out);
    };
    if (this.ordered.idle) restore(this.out);
    else this.writeInTurn(restore);
    return { end: taken, lines };
  }

  private restorer(t: ActiveTable): RowRestorer {
    let r = this.restorers[t.plan.index];
    if (r?.rm !== t.row) r = this.restorers[t.plan.index] = new RowRestorer(t.row);
    return r;
  }

  /** After the input ends: the vault must hold nothing more. */
  checkVaultExhausted(): void {
    const rec = this.vault.next();
    if (rec === null) return;
    if (this.declared.size === 0) {
      const of = rec.type === 'table' ? ` (the first: ${String(rec.decl['table'])})` : '';
      const what = this.bytesIn === 0 ? 'the input is empty (did the command before the pipe fail?)' : `the input has none of the tables the vault holds originals of${of}`;
      throw new PgcloakError('VAULT_MISMATCH', `${what}: ${NOT_THIS_DUMP}`);
    }
    if (rec.type === 'row') {
      throw new PgcloakError('VAULT_MISMATCH', `the masked dump ends before the vault's rows of ${this.tableName(rec.tableIndex)} do: the dump was cut or rows were removed, or ${NOT_THIS_DUMP}`);
    }
    if (rec.type === 'statement') {
      throw new PgcloakError('VAULT_MISMATCH', `the masked dump ends before the vault's statistics statements do: the dump was cut or edited, or ${NOT_THIS_DUMP}`);
    }
    throw new PgcloakError(
      'VAULT_MISMATCH',
      `the vault holds originals of ${String(rec.decl['table'])}, which the masked dump does not have after ${[...this.declared.values()].at(-1)}: the dump was cut or edited, or ${NOT_THIS_DUMP}`,
    );
  }
}
