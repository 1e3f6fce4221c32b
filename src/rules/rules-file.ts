// The rules file: loaded from YAML, checked against its schema, normalised once
// (names resolved, strategies looked up). Problems come back as `path: message`.
// Cross-checks against the dump's schema happen later, as its DDL streams by
// (see mask/table-plans.ts).

import { createHash } from 'node:crypto';
import { PgcloakError } from '../errors.js';
import type { QualifiedName } from '../schema/names.js';
import { STRATEGIES } from '../strategies/registry.js';
import { isRecord, pathPart, readTablesDocument, tableEntries } from './tables-document.js';
import type { StrategyDefinition } from '../strategies/strategy.js';

export interface ColumnRule {
  column: string;
  strategy: StrategyDefinition;
  params: Readonly<Record<string, unknown>>;
  /** The column's SQL type, for raw COPY data without a schema (`type: varchar(64)`). */
  type: string | undefined;
  /** `tables.<table>.columns.<column>` as written in the file. */
  path: string;
}

export interface TableRule {
  qname: QualifiedName;
  key: string;
  /** Explicit key columns, if the rule gives them. */
  keyColumns: readonly string[] | undefined;
  columns: ReadonlyMap<string, ColumnRule>;
  path: string;
}

export interface RuleSet {
  tables: ReadonlyMap<string, TableRule>;
  /** The file's text, kept in the vault so unmask applies exactly the same rules. */
  text: string;
  /** SHA-256 of the text, recorded in the vault header. */
  digest: string;
}

const TABLE_FIELDS = new Set(['key', 'columns']);

export function parseRules(text: string): RuleSet {
  const { tables: rawTables, problems, fatal } = readTablesDocument(text, 'a mapping of table names to rules');
  if (fatal) throw rulesError(problems);
  const tables = new Map<string, TableRule>();

  for (const { path: tpath, qname, key, raw: rawRule } of tableEntries(rawTables, problems, "a mapping with 'columns' (and optionally 'key')")) {
    for (const f of Object.keys(rawRule)) if (!TABLE_FIELDS.has(f)) problems.push(`${tpath}.${pathPart(f)}: unknown field (expected key or columns)`);

    let keyColumns: string[] | undefined;
    const rawKey = rawRule['key'];
    if (typeof rawKey === 'string') keyColumns = [rawKey];
    else if (Array.isArray(rawKey) && rawKey.length > 0 && rawKey.every((x) => typeof x === 'string')) keyColumns = rawKey as string[];
    else if (rawKey !== undefined) problems.push(`${tpath}.key: expected a column name or a list of column names`);

    const columns = new Map<string, ColumnRule>();
    const rawColumns = rawRule['columns'] ?? {};
    if (!isRecord(rawColumns)) {
      problems.push(`${tpath}.columns: expected a mapping of column names to strategies`);
      continue;
    }
    for (const [column, rawStrategy] of Object.entries(rawColumns)) {
      const cpath = `${tpath}.columns.${pathPart(column)}`;
      let name: unknown;
      let params: Record<string, unknown> = {};
      let type: unknown;
      if (typeof rawStrategy === 'string') name = rawStrategy;
      else if (rawStrategy === null) name = 'null'; // YAML `column: null` reads as a null, meaning the strategy
      else if (isRecord(rawStrategy)) {
        ({ strategy: name, ...params } = rawStrategy);
        if ('type' in params) {
          type = params['type'];
          delete params['type'];
          if (typeof type !== 'string' || type.trim() === '') problems.push(`${cpath}.type: expected an SQL type name, e.g. varchar(64)`);
        }
      } else {
        problems.push(`${cpath}: expected a strategy name or {strategy: ..., ...}`);
        continue;
      }
      const strategy = typeof name === 'string' ? STRATEGIES.get(name) : undefined;
      if (!strategy) {
        const known = [...STRATEGIES.keys()].join(', ');
        problems.push(`${cpath}: unknown strategy ${typeof name === 'string' ? `'${name}'` : '(missing)'} (known: ${known})`);
        continue;
      }
      const allowed = new Set(strategy.parameters.map((p) => p.name));
      for (const p of Object.keys(params)) if (!allowed.has(p)) problems.push(`${cpath}.${pathPart(p)}: strategy '${strategy.name}' takes no such parameter`);
      for (const m of strategy.checkParams(params)) problems.push(`${cpath}: ${m}`);
      columns.set(column, { column, strategy, params, path: cpath, type: typeof type === 'string' ? type : undefined });
    }
    if (keyColumns) {
      for (const k of keyColumns) {
        const r = columns.get(k);
        if (r && r.strategy.name !== 'keep') problems.push(`${tpath}.key: key column ${JSON.stringify(k)} cannot be masked (rows are matched by it)`);
      }
    }
    tables.set(key, { qname, key, keyColumns, columns, path: tpath });
  }
  if (problems.length > 0) throw rulesError(problems);
  return { tables, text, digest: createHash('sha256').update(text).digest('hex') };
}

function rulesError(problems: string[]): PgcloakError {
  return new PgcloakError('RULES_INVALID', `the rules file has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
}
