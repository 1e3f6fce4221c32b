// The table an `INSERT INTO name ...` statement writes to, read without the SQL parser
// (INSERT statements are row data: there can be millions).

import type { QualifiedName } from '../schema/names.js';

const INSERT_INTO = /^\s*INSERT\s+INTO\s+/i;

/** `INSERT INTO public."Client List" (...)` → { schema: 'public', name: 'Client List' }. */
export function insertTarget(text: string, defaultSchema: string): QualifiedName | undefined {
  const m = INSERT_INTO.exec(text);
  if (!m) return undefined;
  const parts: string[] = [];
  let i = m[0].length;
  for (;;) {
    if (text[i] === '"') {
      let part = '';
      i++;
      while (i < text.length) {
        if (text[i] === '"') {
          if (text[i + 1] !== '"') break;
          i++;
        }
        part += text[i];
        i++;
      }
      i++;
      parts.push(part);
    } else {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(text[i]!)) i++;
      if (i === start) return undefined;
      parts.push(text.slice(start, i).toLowerCase()); // unquoted identifiers fold to lower case
    }
    if (text[i] !== '.') break;
    i++;
  }
  if (parts.length === 1) return { schema: defaultSchema, name: parts[0]! };
  if (parts.length === 2) return { schema: parts[0]!, name: parts[1]! };
  return undefined;
}
