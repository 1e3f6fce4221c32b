// What `unmask --db`, `--sql` and `--by-key` tell a person on stderr: a progress line on a
// terminal, then per table and column: in vault, not found, restored, already original,
// changed since masking. Or one JSON line with --json.

import type { RestoreReport } from '../unmask/restore-report.js';

export class RestoreProgress {
  private last = 0;
  private readonly label: string;
  private shown = false;

  constructor(label: string) {
    this.label = label;
  }

  /** Shows `text` at most four times a second, only on a terminal. */
  show(text: string): void {
    if (!process.stderr.isTTY) return;
    const now = Date.now();
    if (now - this.last < 250) return;
    this.last = now;
    this.shown = true;
    process.stderr.write(`\r\x1b[K${this.label}: ${text}`);
  }

  stop(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

export function printRestoreSummary(title: string, report: RestoreReport, extras: Record<string, unknown>, json: boolean): void {
  if (json) {
    process.stderr.write(`${JSON.stringify({ command: 'unmask', ...report, ...extras })}\n`);
    return;
  }
  const lines = [title];
  const rows: string[][] = [];
  for (const t of report.tables) {
    const notFound = t.notFound === null ? '-' : String(t.notFound);
    if (t.columns.length === 0) {
      rows.push([t.table, '-', String(t.vaultRows), notFound, '-', '-', '-', t.note ?? '']);
      continue;
    }
    t.columns.forEach((c, i) => {
      const first = i === 0;
      const note = c.skipped ? 'skipped by the map: not restored' : first ? (t.note ?? '') : '';
      if (c.skipped) rows.push([first ? t.table : '', c.column, first ? String(t.vaultRows) : '', first ? notFound : '', '-', '-', '-', note]);
      else rows.push([first ? t.table : '', c.column, first ? String(t.vaultRows) : '', first ? notFound : '', String(c.restored), String(c.unchanged), String(c.changed), note]);
    });
  }
  const changed = report.force ? 'changed (overwritten)' : 'changed (kept)';
  const header = ['table', 'column', 'in vault', 'not found', 'restored', 'already original', changed, ''];
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = (i: number): boolean => i >= 2 && i <= 6;
  const format = (r: string[]): string =>
    `  ${r
      .map((v, i) => (i === r.length - 1 ? v : numeric(i) ? v.padStart(width[i]!) : v.padEnd(width[i]!)))
      .join('  ')
      .trimEnd()}`;
  if (rows.length > 0) {
    lines.push(format(header));
    for (const r of rows) lines.push(format(r));
  } else {
    lines.push('  the vault holds no table');
  }
  for (const [k, v] of Object.entries(extras)) if (v !== undefined) lines.push(`  ${k}: ${String(v)}`);
  process.stderr.write(`${lines.join('\n')}\n`);
}
