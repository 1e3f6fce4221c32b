// `pgcloak inspect --suggest`: a draft rules file for the columns that look personal,
// each with a comment saying why. The draft is meant to mask and restore as it is:
//   - a table without an `id` column gets its primary key as `key:`;
//   - a column that is the row key, or part of a foreign key either way, is written
//     commented out: masking would break the key or the reference, a person decides;
//   - placeholder where the type has one; null for other nullable types; otherwise the
//     column is commented out;
//   - on a column of a unique constraint or index, a placeholder that is the same for every
//     row (numbers, dates, ...) would break the constraint: null if the column is nullable,
//     else the column is commented out.
// Partitions are covered by their parent's rule. Under `--rules`, only the personal-looking
// columns those rules do not cover are drafted. The draft ends with the schema snapshot
// (`# pgcloak-schema:` lines) that lets `inspect --rules` tell later what is new.

import { parseRules, type RuleSet } from '../rules/rules-file.js';
import type { ResolvedType } from '../schema/types.js';
import type { ColumnInfo } from '../schema/catalog.js';
import type { InspectReport } from './inspection.js';
import { snapshotLine } from './inspection.js';
import type { DumpInspector } from './inspector.js';
import type { PiiFlag } from './pii-names.js';

export interface DraftResult {
  text: string;
  tables: number;
  /** Columns given a strategy. */
  columns: number;
  /** Personal-looking columns written commented out, for a person to decide. */
  undecided: number;
}

/** Placeholders that depend on the row, so stay unique per row. */
const ROW_DEPENDENT = new Set(['text', 'json', 'jsonb', 'uuid']);

function placeholderFits(type: ResolvedType): boolean {
  if (type.kind === 'unsupported') return false;
  if (type.kind === 'array') return type.element !== undefined && placeholderFits(type.element);
  return true;
}

function rowDependent(type: ResolvedType): boolean {
  return ROW_DEPENDENT.has(type.kind) || (type.kind === 'array' && type.element !== undefined && rowDependent(type.element));
}

const YAML_PLAIN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const YAML_SPECIAL = /^(?:true|false|null|yes|no|on|off|y|n)$/i;

/** A YAML scalar: plain when safe, else double-quoted (JSON escaping is valid YAML). */
export function yamlScalar(s: string): string {
  return YAML_PLAIN.test(s) && !YAML_SPECIAL.test(s) ? s : JSON.stringify(s);
}

/** A table as a rules file names it: schema.table, parts SQL-quoted when they need it. */
function ruleTableName(schema: string, name: string): string {
  const part = (p: string): string => (/^[A-Za-z_][A-Za-z0-9_$]*$/.test(p) ? p : `"${p.replaceAll('"', '""')}"`);
  const text = `${part(schema)}.${part(name)}`;
  return /^[A-Za-z_][A-Za-z0-9_$.]*$/.test(text) ? text : `'${text.replaceAll("'", "''")}'`;
}

function why(flags: readonly PiiFlag[]): string {
  return flags.map((f) => f.why).join('; ');
}

interface Line {
  text: string;
  comment: string;
}

function aligned(lines: readonly Line[], indent: string): string[] {
  const width = Math.max(0, ...lines.map((l) => l.text.length));
  return lines.map((l) => `${indent}${l.text.padEnd(width)}  # ${l.comment}`);
}

export function draftRules(report: InspectReport, inspector: DumpInspector, options: { source: string; rules?: RuleSet; now?: Date }): DraftResult {
  const catalog = inspector.catalog;
  const out: string[] = [];
  const now = (options.now ?? new Date()).toISOString();
  out.push(`# Draft rules written by \`pgcloak inspect --suggest\` from ${options.source} on ${now}.`);
  out.push('# Each column below looks personal by its name, its type or a sample of its values (first');
  out.push(`# ${report.sampleRows} rows of each table); the comment says why. Review every line before use:`);
  out.push('# these are guesses. Columns written commented out need a decision (the comment says why);');
  out.push('# give them a strategy, or `keep` to record that they stay as they are.');
  if (options.rules) out.push('# Only the columns the given rules file does not cover are listed.');
  out.push('');
  out.push('tables:');
  let tables = 0;
  let columns = 0;
  let undecided = 0;

  for (const t of report.tables) {
    if (t.parent !== undefined) continue; // covered by the parent's rule
    const info = catalog.tables.get(t.table);
    if (!info) continue;
    const existing = options.rules?.tables.get(t.table);
    const flagged = t.columns.filter((c) => c.personal.length > 0 && !existing?.columns.has(c.name));
    if (flagged.length === 0) continue;
    const keys = inspector.keys.get(t.table);
    const hasId = info.columns.some((c) => c.name === 'id');
    const keyColumns = existing?.keyColumns ?? (hasId ? ['id'] : keys.primaryKey);
    const ruled: Line[] = [];
    const commented: Line[] = [];
    for (const c of flagged) {
      const col = info.columns.find((x) => x.name === c.name)!;
      const decision = decide(col, catalog.resolveType(col.type), keyColumns ?? [], keys.foreign, keys.unique);
      const comment = why(c.personal);
      if (decision.strategy) {
        ruled.push({ text: `${yamlScalar(c.name)}: ${decision.strategy}`, comment });
        columns++;
      } else {
        commented.push({ text: `# ${yamlScalar(c.name)}: placeholder`, comment: `${comment}; NOT RULED: ${decision.reason}` });
        undecided++;
      }
    }
    tables++;
    out.push(`  ${ruleTableName(info.qname.schema, info.qname.name)}:`);
    if (!existing?.keyColumns && !hasId) {
      if (keys.primaryKey && keys.primaryKey.length > 0) {
        out.push(`    key: [${keys.primaryKey.map(yamlScalar).join(', ')}]   # its primary key`);
      } else {
        out.push('    # no id column and no primary key: rows are keyed by their position in the dump');
      }
    }
    if (ruled.length === 0) out.push('    columns: {}');
    else out.push('    columns:');
    out.push(...aligned(ruled, '      '));
    out.push(...aligned(commented, '      '));
  }
  if (tables === 0) out[out.length - 1] = 'tables: {}';

  out.push('');
  out.push('# pgcloak-schema: the tables and columns of the dump this draft was written from, so that');
  out.push('# `pgcloak inspect --rules` can list what a newer dump adds. Keep these lines with the rules.');
  for (const t of report.tables) {
    if (t.parent === undefined) out.push(snapshotLine(t.table, t.columns.map((c) => c.name)));
  }
  const text = `${out.join('\n')}\n`;
  parseRules(text); // the draft must load; a failure here is a bug
  return { text, tables, columns, undecided };
}

function decide(
  column: ColumnInfo,
  type: ResolvedType,
  keyColumns: readonly string[],
  foreign: ReadonlySet<string>,
  unique: ReadonlySet<string>,
): { strategy?: string; reason: string } {
  if (keyColumns.includes(column.name)) return { reason: 'it is the row key (give the table another key: to mask it)' };
  if (foreign.has(column.name)) return { reason: 'part of a foreign key: a masked value would break the reference' };
  const nullable = !column.notNull && !type.notNull;
  if (!placeholderFits(type)) {
    if (nullable) return { strategy: 'null', reason: '' };
    return { reason: `type ${type.display} has no placeholder and the column is NOT NULL` };
  }
  if (unique.has(column.name) && !rowDependent(type)) {
    if (nullable) return { strategy: 'null', reason: '' };
    return { reason: `in a unique constraint, and its placeholder (type ${type.display}) is the same for every row` };
  }
  return { strategy: 'placeholder', reason: '' };
}

