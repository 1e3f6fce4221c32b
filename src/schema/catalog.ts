// What the dump declares: tables and their columns, enums, domains, composite types,
// partitions and the search_path, learnt from its DDL with PostgreSQL's own parser
// (libpg-query). Row data never comes here.
// https://www.postgresql.org/docs/current/sql-createtable.html

import { loadModule, parseSync } from 'libpg-query';
import type { Node, TypeName, RangeVar, CreateStmt, CopyStmt, AlterTableStmt, ColumnDef as PgColumnDef } from 'libpg-query';
import { PgcloakError, type SourcePosition } from '../errors.js';
import { qualifiedKey, type QualifiedName } from './names.js';
import { BUILTIN_KINDS, type ResolvedType } from './types.js';

export interface TypeRef {
  names: string[];
  typmods: number[];
  arrayDims: number;
}

export interface ColumnInfo {
  name: string;
  type: TypeRef;
  notNull: boolean;
}

export interface TableInfo {
  qname: QualifiedName;
  key: string;
  columns: ColumnInfo[];
  /** Partitioned parent (PARTITION OF / ATTACH PARTITION). */
  parent?: string;
  /** Where its CREATE TABLE is. */
  at: SourcePosition;
}

/** A relation whose rows, and so whose statistics, come from other relations. */
export interface DerivedRelation {
  kind: 'index' | 'view' | 'materialized view';
  /** The relations it reads (an index: its table), as keys. */
  sources: string[];
  /** It also reads what names cannot tell (a function in FROM). */
  opaque: boolean;
}

export interface CopyTarget {
  table: QualifiedName;
  key: string;
  /** Column names in COPY order; undefined when the COPY lists none (all, in table order). */
  columns: string[] | undefined;
  /** COPY options other than the default text format, e.g. `format csv`. */
  nonDefaultOptions: string[];
}

/** What a statement was, as far as masking cares. */
export type LearntStatement =
  | { kind: 'table'; table: TableInfo }
  | { kind: 'attach'; parent: string; child: string }
  | { kind: 'copy'; target: CopyTarget }
  | { kind: 'standard_conforming_strings'; on: boolean }
  | { kind: 'client_encoding'; name: string }
  | { kind: 'other' };

let parserReady: Promise<void> | undefined;

/** libpg-query is WASM: load it once before the first parse. */
export function loadSqlParser(): Promise<void> {
  parserReady ??= loadModule();
  return parserReady;
}

// Statements worth parsing; everything else (functions, grants, ...) is skipped without
// calling the parser.
const INTERESTING =
  /^(?:CREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMP|TEMPORARY)\s+|UNLOGGED\s+)?TABLE\b|CREATE\s+TYPE\b|CREATE\s+DOMAIN\b|ALTER\s+TABLE\b|COPY\b|SET\s+(?:SESSION\s+)?(?:search_path|standard_conforming_strings|client_encoding)\b|SELECT\s+pg_catalog\.set_config\s*\(\s*'search_path')/i;
// Indexes, views and materialized views: what their statistics may be computed from (pg_dump
// of PostgreSQL 18 writes statistics for index expressions and materialized views). Only
// their names and sources are wanted: one the parser rejects is left unknown, not an error.
const DERIVED = /^CREATE\s+(?:UNIQUE\s+)?INDEX\b|^CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY|RECURSIVE)\s+)*VIEW\b|^CREATE\s+MATERIALIZED\s+VIEW\b/i;

export class SchemaCatalog {
  readonly tables = new Map<string, TableInfo>();
  readonly enums = new Map<string, readonly string[]>();
  readonly domains = new Map<string, { base: TypeRef; notNull: boolean }>();
  readonly composites = new Set<string>();
  /** Indexes, views and materialized views, by key. */
  readonly derived = new Map<string, DerivedRelation>();
  private searchPath: string[] = ['public'];

  /** The schema unqualified names resolve to. */
  get defaultSchema(): string {
    return this.searchPath[0] ?? 'public';
  }

  /** Learns from one statement's text. */
  learn(text: string, at: SourcePosition): LearntStatement {
    const head = text.trimStart();
    if (DERIVED.test(head)) {
      this.learnDerived(text);
      return { kind: 'other' };
    }
    if (!INTERESTING.test(head)) return { kind: 'other' };
    let stmts: Node[];
    try {
      stmts = (parseSync(text).stmts ?? []).map((s) => s.stmt).filter((s): s is Node => s !== undefined);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new PgcloakError('SQL_PARSE', `PostgreSQL's parser rejects this statement: ${message}`, at);
    }
    let result: LearntStatement = { kind: 'other' };
    for (const stmt of stmts) result = this.learnNode(stmt, at);
    return result;
  }

  private learnNode(node: Node, at: SourcePosition): LearntStatement {
    if ('CreateStmt' in node) return this.learnCreateTable(node.CreateStmt, at);
    if ('CreateEnumStmt' in node) {
      const name = this.typeNameKey(stringList(node.CreateEnumStmt.typeName));
      this.enums.set(name, stringList(node.CreateEnumStmt.vals));
      return { kind: 'other' };
    }
    if ('CreateDomainStmt' in node) {
      const d = node.CreateDomainStmt;
      const notNull = (d.constraints ?? []).some((c) => 'Constraint' in c && c.Constraint.contype === 'CONSTR_NOTNULL');
      if (d.typeName) this.domains.set(this.typeNameKey(stringList(d.domainname)), { base: typeRef(d.typeName), notNull });
      return { kind: 'other' };
    }
    if ('CompositeTypeStmt' in node) {
      const rel = node.CompositeTypeStmt.typevar;
      if (rel) this.composites.add(qualifiedKey(this.qualify(rel)));
      return { kind: 'other' };
    }
    if ('AlterTableStmt' in node) return this.learnAlterTable(node.AlterTableStmt);
    if ('CopyStmt' in node) return this.learnCopy(node.CopyStmt);
    if ('VariableSetStmt' in node) {
      const v = node.VariableSetStmt;
      const args = (v.args ?? []).map(constText);
      if (v.name === 'search_path') this.searchPath = args.filter((a) => a !== 'pg_catalog');
      if (v.name === 'client_encoding' && args[0] !== undefined) return { kind: 'client_encoding', name: args[0] };
      if (v.name === 'standard_conforming_strings' && args[0] !== undefined) {
        return { kind: 'standard_conforming_strings', on: args[0].toLowerCase() === 'on' };
      }
      return { kind: 'other' };
    }
    if ('SelectStmt' in node) {
      // pg_dump: SELECT pg_catalog.set_config('search_path', '', false);
      const fromAst = findSetConfigSearchPath(node);
      if (fromAst !== undefined) this.searchPath = fromAst;
      return { kind: 'other' };
    }
    return { kind: 'other' };
  }

  private learnDerived(text: string): void {
    let stmts: Node[];
    try {
      stmts = (parseSync(text).stmts ?? []).map((s) => s.stmt).filter((s): s is Node => s !== undefined);
    } catch {
      return; // see DERIVED
    }
    for (const node of stmts) {
      if ('IndexStmt' in node) {
        const i = node.IndexStmt;
        if (!i.relation || !i.idxname) continue;
        const table = this.qualify(i.relation);
        this.derived.set(qualifiedKey({ schema: table.schema, name: i.idxname }), { kind: 'index', sources: [qualifiedKey(table)], opaque: false });
      } else if ('ViewStmt' in node && node.ViewStmt.view) {
        this.derived.set(qualifiedKey(this.qualify(node.ViewStmt.view)), { kind: 'view', ...this.querySources(node.ViewStmt.query) });
      } else if ('CreateTableAsStmt' in node && node.CreateTableAsStmt.objtype === 'OBJECT_MATVIEW' && node.CreateTableAsStmt.into?.rel) {
        this.derived.set(qualifiedKey(this.qualify(node.CreateTableAsStmt.into.rel)), { kind: 'materialized view', ...this.querySources(node.CreateTableAsStmt.query) });
      }
    }
  }

  /** The relations a query reads, by the names in its FROM clauses (CTE names left out). */
  private querySources(query: Node | undefined): { sources: string[]; opaque: boolean } {
    const ctes = new Set<string>();
    walkNodes(query, (key, value) => {
      if (key === 'CommonTableExpr') {
        const name = (value as { ctename?: string }).ctename;
        if (name !== undefined) ctes.add(name);
      }
    });
    const sources = new Set<string>();
    let opaque = false;
    walkNodes(query, (key, value) => {
      if (key === 'RangeVar') {
        const rel = value as RangeVar;
        if (rel.schemaname === undefined && rel.relname !== undefined && ctes.has(rel.relname)) return;
        sources.add(qualifiedKey(this.qualify(rel)));
      } else if (key === 'RangeFunction' || key === 'RangeTableFunc') {
        opaque = true;
      }
    });
    return { sources: [...sources], opaque };
  }

  private learnCreateTable(c: CreateStmt, at: SourcePosition): LearntStatement {
    if (!c.relation) return { kind: 'other' };
    const qname = this.qualify(c.relation);
    const key = qualifiedKey(qname);
    const columns: ColumnInfo[] = [];
    let parent: string | undefined;
    if (c.partbound && c.inhRelations?.[0] && 'RangeVar' in c.inhRelations[0]) {
      parent = qualifiedKey(this.qualify(c.inhRelations[0].RangeVar));
      // PARTITION OF: the columns are the parent's.
      for (const col of this.tables.get(parent)?.columns ?? []) columns.push({ ...col });
    } else {
      for (const inh of c.inhRelations ?? []) {
        if ('RangeVar' in inh) {
          for (const col of this.tables.get(qualifiedKey(this.qualify(inh.RangeVar)))?.columns ?? []) {
            if (!columns.some((x) => x.name === col.name)) columns.push({ ...col });
          }
        }
      }
    }
    for (const elt of c.tableElts ?? []) {
      if ('ColumnDef' in elt) {
        const def = elt.ColumnDef;
        const existing = columns.find((x) => x.name === def.colname);
        if (existing) {
          // PARTITION OF (col WITH OPTIONS NOT NULL …) refines an inherited column.
          if (columnNotNull(def)) existing.notNull = true;
          continue;
        }
        if (!def.colname || !def.typeName) continue;
        columns.push({ name: def.colname, type: typeRef(def.typeName), notNull: columnNotNull(def) });
      } else if ('Constraint' in elt && elt.Constraint.contype === 'CONSTR_PRIMARY') {
        for (const k of stringList(elt.Constraint.keys)) {
          const col = columns.find((x) => x.name === k);
          if (col) col.notNull = true;
        }
      }
    }
    const table: TableInfo = { qname, key, columns, at };
    if (parent !== undefined) table.parent = parent;
    this.tables.set(key, table);
    return { kind: 'table', table };
  }

  private learnAlterTable(a: AlterTableStmt): LearntStatement {
    if (!a.relation) return { kind: 'other' };
    const parentKey = qualifiedKey(this.qualify(a.relation));
    let result: LearntStatement = { kind: 'other' };
    for (const cmd of a.cmds ?? []) {
      if (!('AlterTableCmd' in cmd)) continue;
      const c = cmd.AlterTableCmd;
      if (c.subtype === 'AT_AttachPartition' && c.def && 'PartitionCmd' in c.def && c.def.PartitionCmd.name) {
        const childKey = qualifiedKey(this.qualify(c.def.PartitionCmd.name));
        const child = this.tables.get(childKey);
        if (child) child.parent = parentKey;
        result = { kind: 'attach', parent: parentKey, child: childKey };
      } else if (c.subtype === 'AT_SetNotNull' && c.name) {
        const col = this.tables.get(parentKey)?.columns.find((x) => x.name === c.name);
        if (col) col.notNull = true;
      }
    }
    return result;
  }

  private learnCopy(c: CopyStmt): LearntStatement {
    if (!c.relation || !c.is_from || c.filename !== undefined || c.is_program) return { kind: 'other' };
    const table = this.qualify(c.relation);
    const nonDefaultOptions: string[] = [];
    for (const opt of c.options ?? []) {
      if ('DefElem' in opt) {
        const name = opt.DefElem.defname ?? '';
        const value = opt.DefElem.arg ? constText(opt.DefElem.arg) : '';
        if (name === 'format' && value.toLowerCase() === 'text') continue;
        nonDefaultOptions.push(value ? `${name} ${value}` : name);
      }
    }
    return {
      kind: 'copy',
      target: {
        table,
        key: qualifiedKey(table),
        columns: c.attlist ? stringList(c.attlist) : undefined,
        nonDefaultOptions,
      },
    };
  }

  private qualify(rel: RangeVar): QualifiedName {
    return { schema: rel.schemaname ?? this.searchPath[0] ?? 'public', name: rel.relname ?? '' };
  }

  private typeNameKey(names: string[]): string {
    if (names.length >= 2) return qualifiedKey({ schema: names[names.length - 2]!, name: names[names.length - 1]! });
    return qualifiedKey({ schema: this.searchPath[0] ?? 'public', name: names[0] ?? '' });
  }

  /** The partition ancestors of a table, nearest first. */
  ancestors(key: string): string[] {
    const out: string[] = [];
    let t = this.tables.get(key);
    while (t?.parent !== undefined && !out.includes(t.parent)) {
      out.push(t.parent);
      t = this.tables.get(t.parent);
    }
    return out;
  }

  /** Resolves a declared type through domains and arrays to a masking kind. */
  resolveType(ref: TypeRef, seen: Set<string> = new Set()): ResolvedType {
    const display = displayType(ref);
    if (ref.arrayDims > 0) {
      const element = this.resolveType({ ...ref, arrayDims: 0 }, seen);
      return { kind: 'array', display, base: element.base, element, notNull: false };
    }
    const last = ref.names[ref.names.length - 1] ?? '';
    const schema = ref.names.length >= 2 ? ref.names[ref.names.length - 2] : undefined;
    if (schema !== 'pg_catalog') {
      const key = this.typeNameKey(ref.names);
      const labels = this.enums.get(key);
      if (labels) return { kind: 'enum', display, base: last, labels, notNull: false };
      const domain = this.domains.get(key);
      if (domain && !seen.has(key)) {
        seen.add(key);
        const base = this.resolveType(domain.base, seen);
        return { ...base, display, notNull: base.notNull || domain.notNull };
      }
      if (this.composites.has(key)) return { kind: 'unsupported', display, base: last, notNull: false };
    }
    const kind = BUILTIN_KINDS.get(last);
    if (kind === undefined) return { kind: 'unsupported', display, base: last, notNull: false };
    const resolved: ResolvedType = { kind, display, base: last, notNull: false };
    if ((last === 'varchar' || last === 'bpchar') && ref.typmods[0] !== undefined) resolved.maxLength = ref.typmods[0];
    if (last === 'char' && (schema === 'pg_catalog' || schema === undefined)) resolved.maxLength = 1; // "char": one byte
    return resolved;
  }
}

/** Calls `visit` with every node of a parse tree (its type name and its fields). */
export function walkNodes(root: unknown, visit: (key: string, value: unknown) => void): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      stack.push(...v);
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    for (const [key, value] of Object.entries(v)) {
      visit(key, value);
      stack.push(value);
    }
  }
}

function columnNotNull(def: PgColumnDef): boolean {
  return (def.constraints ?? []).some(
    (c) => 'Constraint' in c && (c.Constraint.contype === 'CONSTR_NOTNULL' || c.Constraint.contype === 'CONSTR_PRIMARY'),
  );
}

function typeRef(t: TypeName): TypeRef {
  const typmods: number[] = [];
  for (const m of t.typmods ?? []) {
    if ('A_Const' in m && m.A_Const.ival) typmods.push(m.A_Const.ival.ival ?? 0);
  }
  return { names: stringList(t.names), typmods, arrayDims: t.arrayBounds?.length ?? 0 };
}

function displayType(ref: TypeRef): string {
  const name = ref.names.filter((n) => n !== 'pg_catalog').join('.');
  const mods = ref.typmods.length > 0 ? `(${ref.typmods.join(',')})` : '';
  return `${name}${mods}${'[]'.repeat(ref.arrayDims)}`;
}

function stringList(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
}

function constText(n: Node): string {
  if ('A_Const' in n) {
    const c = n.A_Const;
    if (c.sval) return c.sval.sval ?? '';
    if (c.ival) return String(c.ival.ival ?? 0);
    if (c.boolval) return c.boolval.boolval ? 'on' : 'off';
  }
  if ('String' in n) return n.String.sval ?? '';
  if ('Integer' in n) return String(n.Integer.ival ?? 0);
  if ('TypeCast' in n && n.TypeCast.arg) return constText(n.TypeCast.arg);
  return '';
}

/** `SELECT pg_catalog.set_config('search_path', 'a, b', false)` → ['a', 'b']. */
function findSetConfigSearchPath(node: Node): string[] | undefined {
  if (!('SelectStmt' in node)) return undefined;
  for (const target of node.SelectStmt.targetList ?? []) {
    if (!('ResTarget' in target) || !target.ResTarget.val || !('FuncCall' in target.ResTarget.val)) continue;
    const call = target.ResTarget.val.FuncCall;
    const fname = stringList(call.funcname);
    if (fname[fname.length - 1] !== 'set_config') continue;
    const args = (call.args ?? []).map(constText);
    if (args[0] !== 'search_path') continue;
    return (args[1] ?? '')
      .split(',')
      .map((s) => s.trim())
      .map((s) => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replaceAll('""', '"') : s))
      .filter((s) => s !== '' && s !== 'pg_catalog');
  }
  return undefined;
}
