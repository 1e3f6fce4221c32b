// Reading a dump to describe it: the schema (SchemaCatalog), the keys (KeyCatalog), and
// per table the rows and bytes of its data, COPY blocks or INSERT statements, with the
// first rows' text-like values sampled for personal content. Nothing is written, and no
// value is kept: only counts.

import type { Readable } from 'node:stream';
import { decodeCopyField, isCopyNull } from '../copy/text-field.js';
import { InsertRowReader, type InsertHeader } from '../dump/insert-statement.js';
import { decodeSqlLiteral } from '../dump/sql-literal.js';
import type { CopyDataMode } from '../dump/sql-scanner.js';
import { rowKernel } from '../engine/kernel-choice.js';
import { plainFormName, StatementRouter, type CopyBlock, type DumpHandler, type RoutedStatement } from '../engine/statement-router.js';
import { loadSqlParser, type LearntStatement, type SchemaCatalog } from '../schema/catalog.js';
import { qualifiedKey } from '../schema/names.js';
import type { ResolvedType } from '../schema/types.js';
import { KeyCatalog } from './constraints.js';
import { ContentSample } from './pii-content.js';
import { BYTE } from '../io/byte-codes.js';

const { TAB } = BYTE;

export const DEFAULT_SAMPLE_ROWS = 1000;

export interface TableData {
  rows: number;
  /** Bytes of its COPY data lines or INSERT statements. */
  bytes: number;
  copyBlocks: number;
  insertStatements: number;
  sampledRows: number;
  /** Content samples by column name. */
  samples: Map<string, ContentSample>;
}

/** Types whose values are sampled: text, json, and arrays of text. */
function sampled(type: ResolvedType): boolean {
  if (type.kind === 'array') return type.element?.kind === 'text';
  return type.kind === 'text' || type.kind === 'json' || type.kind === 'jsonb';
}

export class DumpInspector implements DumpHandler {
  readonly keys = new KeyCatalog();
  readonly data = new Map<string, TableData>();
  readonly sampleRows: number;
  bytesIn = 0;
  private readonly router = new StatementRouter(this, { lineCounter: rowKernel().lineCounter });
  /** The COPY block being read: its table's data and a sample per field (undefined: not sampled). */
  private copy: { data: TableData; samples: (ContentSample | undefined)[] } | undefined;

  constructor(sampleRows = DEFAULT_SAMPLE_ROWS) {
    this.sampleRows = sampleRows;
  }

  /** The schema the dump declares. */
  get catalog(): SchemaCatalog {
    return this.router.catalog;
  }

  write(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.router.write(chunk);
  }

  end(): void {
    this.router.end();
  }

  get format(): string {
    return plainFormName(this.router.sawCopy, this.router.sawInsert);
  }

  text(): void {
    // Comments and white space between statements, and the data of unsampled COPY blocks: nothing to learn.
  }

  ddl(s: RoutedStatement, _learnt: LearntStatement, sql: string): void {
    if (s.keyword === 'ALTER' || s.keyword === 'CREATE') this.keys.learn(sql, this.catalog.defaultSchema);
  }

  copyStart(block: CopyBlock): CopyDataMode {
    const t = block.target;
    const data = this.tableData(t.key);
    data.copyBlocks++;
    const columns = this.router.columnsOf(t);
    const csv = t.nonDefaultOptions.length > 0; // CSV and other formats: counted, not sampled
    this.copy = { data, samples: columns.map((c) => (csv ? undefined : this.sampleFor(t.key, c, data))) };
    return 'rows';
  }

  copyRow(buf: Buffer, start: number, end: number, eolEnd: number): void {
    const copy = this.copy!;
    const data = copy.data;
    data.rows++;
    data.bytes += eolEnd - start;
    if (data.sampledRows >= this.sampleRows) return;
    data.sampledRows++;
    let s = start;
    for (let i = 0; s <= end && i < copy.samples.length; i++) {
      let e = buf.indexOf(TAB, s);
      if (e === -1 || e > end) e = end;
      const sample = copy.samples[i];
      if (sample && !isCopyNull(buf, s, e)) {
        try {
          sample.observe(decodeCopyField(buf, s, e) ?? '');
        } catch {
          // invalid UTF-8: not text to look at
        }
      }
      s = e + 1;
    }
  }

  copyEnd(): void {
    this.copy = undefined;
  }

  private tableData(table: string): TableData {
    let d = this.data.get(table);
    if (!d) {
      d = { rows: 0, bytes: 0, copyBlocks: 0, insertStatements: 0, sampledRows: 0, samples: new Map() };
      this.data.set(table, d);
    }
    return d;
  }

  private sampleFor(table: string, column: string, data: TableData): ContentSample | undefined {
    const info = this.catalog.tables.get(table)?.columns.find((c) => c.name === column);
    if (!info || !sampled(this.catalog.resolveType(info.type))) return undefined;
    let s = data.samples.get(column);
    if (!s) {
      s = new ContentSample();
      data.samples.set(column, s);
    }
    return s;
  }

  insert(s: RoutedStatement, header: InsertHeader | undefined): undefined {
    const text = s.text;
    if (!header) return undefined;
    const table = qualifiedKey(header.target);
    const data = this.tableData(table);
    data.insertStatements++;
    data.bytes += text.length;
    const columns = header.columns ?? this.catalog.tables.get(table)?.columns.map((c) => c.name) ?? [];
    const samples = columns.map((c) => this.sampleFor(table, c, data));
    const literal = { standardStrings: this.router.literal.standardStrings, encoding: 'utf8' as const };
    const rows = new InsertRowReader(text, header.valuesEnd, literal.standardStrings);
    try {
      while (rows.next()) {
        data.rows++;
        if (data.sampledRows >= this.sampleRows) continue;
        data.sampledRows++;
        for (let i = 0; i < rows.starts.length; i++) {
          const sample = samples[i];
          if (!sample) continue;
          try {
            const value = decodeSqlLiteral(text, rows.starts[i]!, rows.ends[i]!, literal);
            if (value !== null) sample.observe(value);
          } catch {
            // an expression, not a literal
          }
        }
      }
    } catch {
      // rows that cannot be read are not counted
    }
    return undefined;
  }
}

/** Reads a whole dump stream into an inspector. */
export async function inspectStream(input: Readable, sampleRows = DEFAULT_SAMPLE_ROWS): Promise<DumpInspector> {
  await loadSqlParser();
  const inspector = new DumpInspector(sampleRows);
  for await (const chunk of input) inspector.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  inspector.end();
  return inspector;
}
