// The library names its options by their path in the options object (`raw.delimiter`,
// `threads`); the command line calls them by their flags. An OptionsError's problems, and any
// message naming an option in backticks, are shown here with the flags instead.

import { OptionsError, type PgcloakError } from '../errors.js';

/** Library option paths and the flags that set them. */
const FLAGS: Readonly<Record<string, string>> = {
  threads: '--threads',
  strict: '--strict',
  pseudonymKey: '--pseudonym-key',
  'raw.format': '--format',
  'raw.table': '--table',
  'raw.columns': '--columns',
  'raw.header': '--header',
  'raw.delimiter': '--delimiter',
  'raw.quote': '--quote',
  'raw.schemaText': '--schema',
};

/** `text` with each option named in backticks that has a flag shown as its flag. */
function withFlags(text: string): string {
  return text.replace(/`([A-Za-z][\w.]*)`/g, (whole, path: string) => FLAGS[path] ?? whole);
}

/** An error's message as the command line shows it: its code, and options as flags. */
export function messageWithFlags(err: PgcloakError): string {
  if (err instanceof OptionsError) {
    const problems = err.problems.map((p) => `${FLAGS[p.path] ?? p.path}: ${withFlags(p.message)}`);
    return `${err.code}: ${problems.join('\n  ')}`;
  }
  return withFlags(err.message);
}
