// Qualified names as PostgreSQL writes them, and the canonical key we index by.
// https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS

export interface QualifiedName {
  schema: string;
  name: string;
}

const PLAIN_IDENT = /^[a-z_][a-z0-9_$]*$/;

/** An identifier as SQL would need it written: quoted unless it is plain lower case. */
export function quoteIdent(name: string): string {
  return PLAIN_IDENT.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** `schema.name`, quoted where needed: both the display form and the map key. */
export function qualifiedKey(q: QualifiedName): string {
  return `${quoteIdent(q.schema)}.${quoteIdent(q.name)}`;
}

/**
 * Splits a rules-file table name: `table`, `schema.table`, with parts optionally
 * double-quoted (`"Sales Dept"."Client List"`). Unquoted parts are taken as written
 * (no case folding), so `Customer` names the table the dump calls "Customer".
 * Returns undefined when the text is not a valid name.
 */
export function parseQualifiedName(text: string, defaultSchema = 'public'): QualifiedName | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let part = '';
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i];
        i++;
      }
      parts.push(part);
    } else {
      const dot = text.indexOf('.', i);
      const end = dot === -1 ? text.length : dot;
      const part = text.slice(i, end);
      if (part.length === 0 || part.includes('"')) return undefined;
      parts.push(part);
      i = end;
    }
    if (i < text.length) {
      if (text[i] !== '.') return undefined;
      i++;
      if (i >= text.length) return undefined;
    }
  }
  if (parts.length === 1) return { schema: defaultSchema, name: parts[0]! };
  if (parts.length === 2) return { schema: parts[0]!, name: parts[1]! };
  return undefined;
}
