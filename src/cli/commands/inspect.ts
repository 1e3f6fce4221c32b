// `pgcloak inspect`: what a dump holds (tables, columns, types, rows, sizes), which columns
// look personal, their state under a rules file, and with --suggest a draft rules file.
// The listing goes to stdout (it is this command's output); messages to stderr.

import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { PgcloakError } from '../../errors.js';
import type { InspectReport, TableReport } from '../../inspect/inspection.js';
import type { RuleSet } from '../../rules/rules-file.js';
import { quoteIdent } from '../../schema/names.js';
import { openInput, readTextFile } from '../io.js';
import { commandModule, ioOptions } from '../shared-options.js';

const builder = (y: Argv) =>
  y
    .positional('dump', { type: 'string', describe: 'the dump (default: --input, else stdin)' })
    .options({
      input: ioOptions.input,
      rules: { type: 'string', alias: 'r', describe: 'show each column\'s state under this rules file, what matches nothing, and what is new since' },
      suggest: { type: 'string', describe: 'write a draft rules file for the columns that look personal to this new file' },
      sample: { type: 'number', describe: 'rows of each table whose values are sampled for e-mails, phones, IBANs, IPs (default 1000)' },
      json: { type: 'boolean', describe: 'print the listing as JSON' },
      quiet: ioOptions.quiet,
    });

export const inspectCommandModule = commandModule(
  'inspect [dump]',
  'list the tables, columns, types, rows and sizes of a dump, the columns that look personal, and their state under --rules',
  builder,
  (a) => {
    if (a.dump !== undefined && a.input !== undefined) throw new PgcloakError('USAGE', 'give the dump once: as an argument or with --input');
    return inspectCommand({ input: a.dump ?? a.input, rules: a.rules, suggest: a.suggest, sample: a.sample, json: a.json, quiet: a.quiet });
  },
);

export interface InspectArgs {
  input?: string | undefined;
  rules?: string | undefined;
  suggest?: string | undefined;
  sample?: number | undefined;
  json?: boolean | undefined;
  quiet?: boolean | undefined;
}

export async function inspectCommand(args: InspectArgs): Promise<void> {
  const [{ parseRules }, { buildInspection }, { DEFAULT_SAMPLE_ROWS, inspectStream }, { draftRules }] = await Promise.all([
    import('../../rules/rules-file.js'),
    import('../../inspect/inspection.js'),
    import('../../inspect/inspector.js'),
    import('../../inspect/suggest.js'),
  ]);
  let rules: RuleSet | undefined;
  if (args.rules !== undefined) {
    rules = parseRules(readTextFile(args.rules, 'rules file'));
  }
  const sample = args.sample ?? DEFAULT_SAMPLE_ROWS;
  if (!Number.isInteger(sample) || sample < 0) throw new PgcloakError('USAGE', '--sample takes a number of rows (0 or more)');
  const input = openInput(args.input);
  const inspector = await inspectStream(input.stream, sample);
  const report = buildInspection(inspector, rules);

  if (args.suggest !== undefined) {
    const draft = draftRules(report, inspector, { source: args.input ?? 'stdin', ...(rules ? { rules } : {}) });
    try {
      writeFileSync(args.suggest, draft.text, { flag: 'wx' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new PgcloakError('IO', code === 'EEXIST' ? `${args.suggest} already exists; --suggest never overwrites a file` : `cannot write ${args.suggest}`);
    }
    if (!args.quiet) {
      process.stderr.write(
        `pgcloak inspect: draft rules for ${draft.columns} column(s) of ${draft.tables} table(s) written to ${args.suggest}` +
          `${draft.undecided > 0 ? `; ${draft.undecided} more left commented out for you to decide` : ''}; review before use\n`,
      );
    }
  }
  process.stdout.write(args.json ? `${JSON.stringify(report)}\n` : formatInspection(report));
}

function size(n: number): string {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

function count(n: number, what: string): string {
  return `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
}

function formatTable(t: TableReport, withRules: boolean): string[] {
  const lines: string[] = [];
  const notes: string[] = [];
  if (t.parent !== undefined) notes.push(`partition of ${t.parent}`);
  if (withRules) notes.push(t.rule === undefined ? 'no rule' : t.rule === t.table ? 'ruled' : `rule of ${t.rule}`);
  lines.push(`${t.table}: ${count(t.rows, 'row')}, ${size(t.bytes)}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`);
  const nameWidth = Math.max(...t.columns.map((c) => quoteIdent(c.name).length), 4);
  const typeWidth = Math.max(...t.columns.map((c) => c.type.length + (c.notNull ? 9 : 0)), 4);
  const stateText = (c: TableReport['columns'][number]): string =>
    c.state === 'masked' ? `masked: ${c.strategy}` : c.state === 'kept' ? 'kept' : c.state === 'not ruled' ? 'not ruled' : '';
  const stateWidth = withRules ? Math.max(...t.columns.map((c) => stateText(c).length)) : 0;
  for (const c of t.columns) {
    let line = `  ${quoteIdent(c.name).padEnd(nameWidth)}  ${`${c.type}${c.notNull ? ' NOT NULL' : ''}`.padEnd(typeWidth)}`;
    if (withRules) line += `  ${stateText(c).padEnd(stateWidth)}`;
    if (c.personal.length > 0) {
      const categories = [...new Set(c.personal.map((f) => f.category))].join(', ');
      line += `  personal? ${categories}: ${c.personal.map((f) => f.why).join('; ')}`;
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

export function formatInspection(report: InspectReport): string {
  const withRules = report.rules !== undefined;
  const rows = report.tables.reduce((n, t) => n + t.rows, 0);
  const bytes = report.tables.reduce((n, t) => n + t.bytes, 0);
  const flagged = report.tables.reduce((n, t) => n + t.columns.filter((c) => c.personal.length > 0).length, 0);
  const out: string[] = [];
  out.push(`${report.format}: ${count(report.tables.length, 'table')}, ${count(rows, 'row')}, ${size(bytes)} of table data in ${size(report.bytesIn)}`);
  out.push(`${count(flagged, 'column')} look personal (by name, type, or a sample of the first ${count(report.sampleRows, 'row')} of each table)`);
  for (const t of report.tables) {
    out.push('');
    out.push(...formatTable(t, withRules));
  }
  for (const u of report.undeclared) out.push('', `${u.table}: ${count(u.rows, 'row')}, ${size(u.bytes)} (no CREATE TABLE in the dump)`);
  if (report.rules) {
    const r = report.rules;
    out.push('');
    if (r.notExisting.length === 0) out.push('not existing: none (every rule matches a table and column of the dump)');
    else out.push('not existing (rules that match nothing in the dump):', ...r.notExisting.map((n) => `  ${n}`));
    out.push('');
    if (r.keyCollisions.length === 0) out.push('keys the rules break: none (every primary key, unique key and foreign key of the dump restores)');
    else out.push('keys the rules break (the masked dump would not restore; mask warns of each, --strict refuses the certain ones):', ...r.keyCollisions.map((c) => `  ${c.message}`));
    out.push('');
    const n = r.newSinceRules;
    const what =
      n.basis === 'snapshot'
        ? 'new since the rules were written (not in their pgcloak-schema snapshot)'
        : 'not mentioned by the rules (no pgcloak-schema snapshot in the rules file: columns of ruled tables without a strategy or keep, the row key aside, and tables without a rule)';
    if (n.tables.length === 0 && n.columns.length === 0) out.push(`${what}: none`);
    else {
      out.push(`${what}:`);
      for (const c of n.columns) out.push(`  column ${c.table}.${quoteIdent(c.column)}`);
      for (const t of n.tables) out.push(`  table ${t}`);
    }
  }
  return `${out.join('\n')}\n`;
}
