// `template`: text built from the row: `client-{key}` (the row key), `{col:partner_id}` (the
// value of another column of the same row), `{{` and `}}` for braces. Checked at start-up:
// the syntax when the rules are read, the columns when the table's DDL streams by. A column
// the rule masks cannot be named, since that would copy its original into the masked dump.
// A result longer than varchar(n)/char(n) is cut to its first n characters (warned once).

import { PgcloakError } from '../errors.js';
import { textLength } from './text-fit.js';
import type { RowContext, StrategyDefinition } from './strategy.js';

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'key' } | { kind: 'column'; column: string };

const OPEN = '{';
const CLOSE = '}';
const COLUMN_PREFIX = 'col:';

/** The template's parts, or the problems that make it invalid. */
export function parseTemplate(template: string): { parts: TemplatePart[]; problems: string[] } {
  const parts: TemplatePart[] = [];
  const problems: string[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
  };
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === OPEN && template[i + 1] === OPEN) {
      text += OPEN;
      i++;
    } else if (c === CLOSE && template[i + 1] === CLOSE) {
      text += CLOSE;
      i++;
    } else if (c === OPEN) {
      const end = template.indexOf(CLOSE, i + 1);
      if (end === -1) {
        problems.push(`'value': a { without its } (write {{ for a brace)`);
        break;
      }
      const inner = template.slice(i + 1, end);
      flush();
      if (inner === 'key') parts.push({ kind: 'key' });
      else if (inner.startsWith(COLUMN_PREFIX) && inner.length > COLUMN_PREFIX.length) parts.push({ kind: 'column', column: inner.slice(COLUMN_PREFIX.length) });
      else problems.push(`'value': unknown placeholder {${inner}} (use {key}, {col:NAME}, or {{ and }} for braces)`);
      i = end;
    } else if (c === CLOSE) {
      problems.push(`'value': a } without its { (write }} for a brace)`);
    } else {
      text += c;
    }
  }
  flush();
  return { parts, problems };
}

/** The template's text for one row: NULL in a named column reads as ''. */
export function renderTemplate(parts: readonly TemplatePart[], row: RowContext): string {
  let out = '';
  for (const p of parts) {
    if (p.kind === 'text') out += p.text;
    else if (p.kind === 'key') out += row.key();
    else out += row.field(p.column) ?? '';
  }
  return out;
}

function firstChars(s: string, n: number): string {
  return Array.from(s).slice(0, n).join('');
}

export const templateStrategy: StrategyDefinition = {
  name: 'template',
  description:
    'text built from the row: `{key}` the row key, `{col:NAME}` another (unmasked) column of the row (NULL reads as empty), `{{`/`}}` braces; cut to fit varchar(n)/char(n)',
  accepts: 'text types',
  parameters: [{ name: 'value', description: 'the template, e.g. "client-{key}" or "{col:partner_id}"', required: true }],
  checkParams(params) {
    const value = params['value'];
    if (value === undefined) return ["needs a 'value'"];
    if (typeof value !== 'string') return ["'value' must be a string"];
    return parseTemplate(value).problems;
  },
  distinctness(type, params) {
    if (type.kind !== 'text') return undefined;
    const { parts } = parseTemplate(String(params['value']));
    // With {key}: a value per row (unless cut to fit, which prepare warns of).
    if (parts.some((p) => p.kind === 'key')) return { kind: 'row' };
    const columns = parts.flatMap((p) => (p.kind === 'column' ? [p.column] : []));
    if (columns.length > 0) return { kind: 'columns', columns };
    const fixed = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    return { kind: 'same', value: fixed, what: JSON.stringify(fixed) };
  },
  prepare(column, params) {
    const where = { table: column.table, column: column.column };
    if (column.type.kind !== 'text') {
      throw new PgcloakError('RULES_SCHEMA', `${column.path}: strategy 'template' does not fit type ${column.type.display} (it takes text types)`, where);
    }
    const { parts } = parseTemplate(String(params['value']));
    for (const p of parts) {
      if (p.kind !== 'column') continue;
      if (!column.columns.includes(p.column)) {
        throw new PgcloakError('RULES_SCHEMA', `${column.path}: the template names column ${JSON.stringify(p.column)}, which ${column.table} does not have`, where);
      }
      if (column.masked.has(p.column)) {
        throw new PgcloakError(
          'RULES_SCHEMA',
          `${column.path}: the template names column ${JSON.stringify(p.column)}, which is masked: it would copy that column's original into the masked dump`,
          where,
        );
      }
    }
    const max = column.type.maxLength;
    const fixed = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    if (max !== undefined && textLength(fixed) > max) {
      throw new PgcloakError('RULES_SCHEMA', `${column.path}: the template's fixed text is longer than ${column.type.display} allows`, where);
    }
    if (parts.every((p) => p.kind === 'text')) return { kind: 'constant', value: fixed };
    let warned = false;
    return {
      kind: 'row',
      derive(row) {
        const text = renderTemplate(parts, row);
        if (max === undefined || textLength(text) <= max) return text;
        if (!warned) {
          warned = true;
          column.warn(`${column.path}: template results longer than ${column.type.display} are cut to fit: values may repeat`);
        }
        return firstChars(text, max);
      },
    };
  },
};
