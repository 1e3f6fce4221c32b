// Everything the CLI tells a person goes to stderr: warnings as they happen, a
// progress line while a long run goes on (only when stderr is a terminal), and the
// summary at the end (or JSON, for scripts). stdout carries only data.

import type { DumpProcessor, RunSummary } from '../engine/dump-processor.js';

export function warn(message: string): void {
  process.stderr.write(`pgcloak: warning: ${message}\n`);
}

function megabytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** What the progress line reports at one moment. */
export interface ProgressState {
  label: string;
  /** Bytes of the input read so far. */
  done: number;
  /** The input's size when known (a file, or standard input redirected from one); undefined for a pipe. */
  total: number | undefined;
  /** Seconds since the run started. */
  seconds: number;
  table: string | undefined;
}

/** Seconds as pv shows them: h:mm:ss. */
export function clockTime(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * The progress line: bytes read and the rate; when the input's size is known also the size,
 * the percentage done and, as pv does, the time left at the average rate so far (`ETA
 * 0:01:23`; `ETA --:--:--` until a byte has been read). Percent stays at most 100 should the
 * file grow while it is read.
 */
export function progressLine(p: ProgressState): string {
  const rate = p.seconds > 0 ? ` ${(p.done / 1e6 / p.seconds).toFixed(0)} MB/s` : '';
  const table = p.table ? ` ${p.table}` : '';
  if (!p.total) return `${p.label}: ${megabytes(p.done)}${rate}${table}`;
  const fraction = Math.min(1, p.done / p.total);
  const perSecond = p.seconds > 0 ? p.done / p.seconds : 0;
  const eta = perSecond > 0 ? clockTime(Math.max(0, p.total - p.done) / perSecond) : '--:--:--';
  return `${p.label}: ${megabytes(p.done)} of ${megabytes(p.total)} ${Math.floor(100 * fraction)}%${rate} ETA ${eta}${table}`;
}

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(label: string, processor: () => DumpProcessor | undefined, totalBytes: number | undefined) {
    if (!process.stderr.isTTY) return;
    this.timer = setInterval(() => {
      const p = processor();
      if (!p) return;
      const line = progressLine({ label, done: p.bytesIn, total: totalBytes, seconds: (Date.now() - this.started) / 1000, table: p.currentTable });
      process.stderr.write(`\r\x1b[K${line}`);
    }, 250);
    this.timer.unref();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    process.stderr.write('\r\x1b[K');
  }
}

export interface SummaryExtras {
  seconds: number;
  output?: string | undefined;
  vault?: string | undefined;
  vaultBytes?: number;
  /** mask: why no column was masked, when none was (the output is the input); also warned on its own. */
  nothingMasked?: string;
}

export function printSummary(command: string, summary: RunSummary, extras: SummaryExtras, json: boolean): void {
  if (json) {
    process.stderr.write(`${JSON.stringify({ command, ...summary, ...extras })}\n`);
    return;
  }
  const lines: string[] = [];
  lines.push(`pgcloak ${command}: input read as ${summary.format}`);
  const ruled = summary.tables.filter((t) => t.ruleTable !== undefined);
  if (ruled.length > 0) {
    const width = Math.max(5, ...ruled.map((t) => t.table.length));
    lines.push(`  ${'table'.padEnd(width)}  ${'rows'.padStart(10)}  ${'changed'.padStart(10)}  columns`);
    for (const t of ruled) {
      const via = t.ruleTable !== t.table ? ` (rule of ${t.ruleTable})` : '';
      const pos = t.keyedByPosition ? ' [keyed by position]' : '';
      lines.push(
        `  ${t.table.padEnd(width)}  ${String(t.rows).padStart(10)}  ${String(t.changedRows).padStart(10)}  ${t.maskedColumns.join(', ') || '-'}${via}${pos}`,
      );
    }
  }
  const others = summary.tables.filter((t) => t.ruleTable === undefined);
  const otherRows = others.reduce((n, t) => n + t.rows, 0);
  lines.push(`  ${others.length} other table(s), ${otherRows} row(s), passed through untouched`);
  lines.push(`  ${megabytes(summary.bytesIn)} in, ${megabytes(summary.bytesOut)} out, ${extras.seconds.toFixed(1)} s`);
  if (extras.output) lines.push(`  output: ${extras.output}`);
  if (extras.vault) lines.push(`  vault:  ${extras.vault}${extras.vaultBytes ? ` (${megabytes(extras.vaultBytes)})` : ''}`);
  if (summary.notExisting.length > 0) {
    lines.push(`  not existing (rules that matched nothing):`);
    for (const n of summary.notExisting) lines.push(`    ${n}`);
  }
  if (extras.nothingMasked) lines.push(`  NOTHING WAS MASKED: ${extras.nothingMasked}`);
  // Again at the end, where they are read: shown as they came, they may have scrolled away.
  if (summary.warnings.length > 0) {
    lines.push(`  ${summary.warnings.length} warning(s):`);
    for (const w of summary.warnings) lines.push(`    ${w}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}
