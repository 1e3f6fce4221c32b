// What `pgcloak inspect` reports: every table with its columns, types, rows and size; the
// columns that look personal (by name and type, pii-names.ts, and by sampled content,
// pii-content.ts); and, under a rules file, each column's state (masked by which strategy,
// kept, not ruled), the rules that match nothing, and what is new since the rules were
// written, and the keys the rules break (a repeated value in a unique key: the restore would
// fail; mask warns of the same):
//   - when the rules file carries the schema snapshot `inspect --suggest` writes into it
//     (`# pgcloak-schema:` lines): every table and column the snapshot does not list;
//   - otherwise: the columns of ruled tables that the rules do not mention (neither a
//     strategy nor keep, the row key excepted), and the tables no rule mentions.
// Partitions are reported with their parent; a rule on the parent applies to them.

import { findKeyCollisions, formatKeyCollision, type KeyCollision } from '../rules/key-collisions.js';
import type { RuleSet, TableRule } from '../rules/rules-file.js';
import type { DumpInspector } from './inspector.js';
import { flagColumnsByName, type PiiFlag } from './pii-names.js';

export type ColumnState = 'masked' | 'kept' | 'not ruled';

export interface ColumnReport {
  name: string;
  type: string;
  notNull: boolean;
  /** Under a rules file only. */
  state?: ColumnState;
  strategy?: string;
  /** Why it looks personal; empty when it does not. */
  personal: PiiFlag[];
}

export interface TableReport {
  table: string;
  /** The partitioned table it belongs to. */
  parent?: string;
  rows: number;
  bytes: number;
  /** Under a rules file: the table whose rule applies (itself, or a partition ancestor). */
  rule?: string;
  columns: ColumnReport[];
}

export interface NewSinceRules {
  basis: 'snapshot' | 'unmentioned';
  tables: string[];
  columns: { table: string; column: string }[];
}

export interface InspectReport {
  format: string;
  bytesIn: number;
  sampleRows: number;
  tables: TableReport[];
  /** Data for tables the dump never declares (COPY or INSERT into an unknown table). */
  undeclared: { table: string; rows: number; bytes: number }[];
  rules?: {
    notExisting: string[];
    newSinceRules: NewSinceRules;
    /** Keys the rules break (rules/key-collisions.ts), as mask will warn of them, each with its message. */
    keyCollisions: (KeyCollision & { message: string })[];
  };
}

/** `# pgcloak-schema: {"public.t":["a","b"]}` lines: the schema a rules draft was written from. */
const SNAPSHOT_LINE = /^#\s*pgcloak-schema:\s*(\{.*\})\s*$/;

export function readSchemaSnapshot(rulesText: string): Map<string, Set<string>> | undefined {
  let snapshot: Map<string, Set<string>> | undefined;
  for (const line of rulesText.split('\n')) {
    const m = SNAPSHOT_LINE.exec(line.trim());
    if (!m) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(m[1]!);
    } catch {
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) continue;
    snapshot ??= new Map();
    for (const [table, columns] of Object.entries(parsed)) {
      if (Array.isArray(columns)) snapshot.set(table, new Set(columns.map(String)));
    }
  }
  return snapshot;
}

export function snapshotLine(table: string, columns: readonly string[]): string {
  return `# pgcloak-schema: ${JSON.stringify({ [table]: columns })}`;
}

export function buildInspection(inspector: DumpInspector, rules?: RuleSet): InspectReport {
  const catalog = inspector.catalog;
  const ancestorsOf = (key: string): string[] => catalog.ancestors(key);
  const ruleFor = (key: string): TableRule | undefined => {
    if (!rules) return undefined;
    return rules.tables.get(key) ?? ancestorsOf(key).map((a) => rules.tables.get(a)).find((r) => r !== undefined);
  };

  // Content samples of a table count for it and for its partition ancestors, by column name.
  const byContent = new Map<string, Map<string, PiiFlag[]>>();
  for (const [table, data] of inspector.data) {
    for (const [column, sample] of data.samples) {
      const flags = sample.flags();
      if (flags.length === 0) continue;
      for (const target of [table, ...ancestorsOf(table)]) {
        const columns = byContent.get(target) ?? new Map<string, PiiFlag[]>();
        byContent.set(target, columns);
        const have = columns.get(column) ?? [];
        for (const f of flags) if (!have.some((h) => h.category === f.category)) have.push(f);
        columns.set(column, have);
      }
    }
  }

  const tables: TableReport[] = [];
  for (const info of catalog.tables.values()) {
    const data = inspector.data.get(info.key);
    const byName = flagColumnsByName(info, catalog);
    const contentFlags = byContent.get(info.key);
    const rule = ruleFor(info.key);
    const report: TableReport = { table: info.key, rows: data?.rows ?? 0, bytes: data?.bytes ?? 0, columns: [] };
    if (info.parent !== undefined) report.parent = info.parent;
    if (rule) report.rule = rule.key;
    for (const c of info.columns) {
      const personal = [...(byName.get(c.name) ?? [])];
      for (const f of contentFlags?.get(c.name) ?? []) personal.push(f);
      const column: ColumnReport = { name: c.name, type: catalog.resolveType(c.type).display, notNull: c.notNull, personal };
      if (rules) {
        const colRule = rule?.columns.get(c.name);
        if (!colRule) column.state = 'not ruled';
        else if (colRule.strategy.name === 'keep') column.state = 'kept';
        else {
          column.state = 'masked';
          column.strategy = colRule.strategy.name;
        }
      }
      report.columns.push(column);
    }
    tables.push(report);
  }

  const undeclared = [...inspector.data]
    .filter(([table]) => !catalog.tables.has(table))
    .map(([table, d]) => ({ table, rows: d.rows, bytes: d.bytes }));

  const result: InspectReport = { format: inspector.format, bytesIn: inspector.bytesIn, sampleRows: inspector.sampleRows, tables, undeclared };
  if (rules) {
    // The rows inspect counted (COPY and INSERT alike): a declared table without data has none.
    const rows = (table: string): number | undefined => inspector.data.get(table)?.rows ?? (catalog.tables.has(table) ? 0 : undefined);
    const keyCollisions = findKeyCollisions({ keys: inspector.keys.declared, catalog, rules, rows }).map((c) => ({ ...c, message: formatKeyCollision(c) }));
    result.rules = { notExisting: notExisting(inspector, rules), newSinceRules: newSinceRules(tables, rules), keyCollisions };
  }
  return result;
}

function notExisting(inspector: DumpInspector, rules: RuleSet): string[] {
  const out: string[] = [];
  for (const rule of rules.tables.values()) {
    const info = inspector.catalog.tables.get(rule.key);
    if (!info) {
      out.push(`${rule.path}: no such table in the dump`);
      continue;
    }
    for (const [name, colRule] of rule.columns) {
      if (!info.columns.some((c) => c.name === name)) out.push(`${colRule.path}: no such column in the dump`);
    }
  }
  return out;
}

function newSinceRules(tables: readonly TableReport[], rules: RuleSet): NewSinceRules {
  const snapshot = readSchemaSnapshot(rules.text);
  const roots = tables.filter((t) => t.parent === undefined);
  if (snapshot) {
    const out: NewSinceRules = { basis: 'snapshot', tables: [], columns: [] };
    for (const t of roots) {
      const seen = snapshot.get(t.table);
      if (!seen) out.tables.push(t.table);
      else for (const c of t.columns) if (!seen.has(c.name)) out.columns.push({ table: t.table, column: c.name });
    }
    return out;
  }
  const out: NewSinceRules = { basis: 'unmentioned', tables: [], columns: [] };
  for (const t of roots) {
    const rule = rules.tables.get(t.table);
    if (!rule) {
      out.tables.push(t.table);
      continue;
    }
    const key = new Set(rule.keyColumns ?? (t.columns.some((c) => c.name === 'id') ? ['id'] : []));
    for (const c of t.columns) if (!rule.columns.has(c.name) && !key.has(c.name)) out.columns.push({ table: t.table, column: c.name });
  }
  return out;
}
