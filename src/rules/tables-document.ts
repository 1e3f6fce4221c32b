// What the rules file and the migration map share: a YAML document whose top level is
// `tables:`, a mapping of table names. Problems are collected as `path: message`.

import { parseDocument } from 'yaml';
import { parseQualifiedName, qualifiedKey, type QualifiedName } from '../schema/names.js';

/** Alias expansions allowed in one document (yaml's default): rules and maps need few, if any. */
const MAX_ALIAS_COUNT = 100;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A name in a problem's path: as is when plain, else double-quoted as SQL would (`columns."E-mail"`). */
export function pathPart(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/**
 * The `tables:` mapping of a YAML document (empty when absent), and the problems found
 * on the way. `fatal` is set when nothing more can be read (bad YAML, not a mapping).
 */
export function readTablesDocument(text: string, tablesDescription: string): { tables: Record<string, unknown>; problems: string[]; fatal: boolean } {
  const problems: string[] = [];
  const doc = parseDocument(text, { uniqueKeys: true });
  for (const e of doc.errors) problems.push(`YAML: ${e.message.split('\n')[0] ?? e.message}`);
  if (problems.length > 0) return { tables: {}, problems, fatal: true };
  let root: unknown;
  try {
    // yaml refuses more alias expansions than maxAliasCount (a "billion laughs" file) with a ReferenceError.
    root = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    return { tables: {}, problems: [`YAML: ${err instanceof Error ? err.message : String(err)} (aliases expand to too many nodes)`], fatal: true };
  }
  if (!isRecord(root)) return { tables: {}, problems: ['(top): expected a mapping with `tables:`'], fatal: true };
  for (const k of Object.keys(root)) if (k !== 'tables') problems.push(`${pathPart(k)}: unknown field (expected 'tables')`);
  const tables = root['tables'] ?? {};
  if (!isRecord(tables)) return { tables: {}, problems: [...problems, `tables: expected ${tablesDescription}`], fatal: true };
  return { tables, problems, fatal: false };
}

export interface TableEntry {
  /** `tables.<name as written>`, for problems. */
  path: string;
  qname: QualifiedName;
  key: string;
  raw: Record<string, unknown>;
}

/** The entries of `tables:` whose names parse, name no table twice, and are mappings. */
export function tableEntries(rawTables: Record<string, unknown>, problems: string[], expected: string): TableEntry[] {
  const seen = new Map<string, string>();
  const entries: TableEntry[] = [];
  for (const [tableName, raw] of Object.entries(rawTables)) {
    const path = `tables.${tableName}`; // as written: `res_partner`, `"Sales Dept"."Client List"`
    const qname = parseQualifiedName(tableName);
    if (!qname) {
      problems.push(`${path}: not a table name (use table, schema.table, or "Quoted"."Names")`);
      continue;
    }
    const key = qualifiedKey(qname);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push(`${path}: names the same table as ${earlier}`);
      continue;
    }
    seen.set(key, path);
    if (!isRecord(raw)) {
      problems.push(`${path}: expected ${expected}`);
      continue;
    }
    entries.push({ path, qname, key, raw });
  }
  return entries;
}
