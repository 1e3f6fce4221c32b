// How a leak scan is told to a person: places and counts, never a value.

import { placeName, type LeakReport } from './leak-scanner.js';

function human(n: number): string {
  return n.toLocaleString('en-US');
}

function megabytes(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

export function formatLeakReport(command: string, report: LeakReport & { vaultMatchesInput?: boolean }): string {
  const lines: string[] = [];
  if (report.places.length === 0) {
    lines.push(`pgcloak ${command}: no masked original value found in the masked output`);
  } else {
    lines.push(
      `pgcloak ${command}: masked original values found in ${report.places.length} place(s) of the masked output (${human(report.finds)} find(s)):`,
    );
    const names = report.places.map(placeName);
    const width = Math.max(...names.map((n) => n.length));
    report.places.forEach((p, i) => {
      lines.push(`  ${names[i]!.padEnd(width)}  ${String(p.count).padStart(8)}  first at line ${p.firstLine}`);
    });
  }
  lines.push(
    `  looked for ${human(report.values)} original value(s) of 4+ characters (${human(report.distinct)} distinct, ${megabytes(report.filterBytes)} of Bloom filters)` +
      ` in ${megabytes(report.bytesScanned)}; ${human(report.lookups)} filter lookup(s),` +
      ` each wrong with probability < ${report.falsePositiveBound.toExponential(1)}: expected false finds < ${formatSmall(report.expectedFalseFinds)}`,
  );
  if (report.vaultMatchesInput === false) {
    lines.push('  note: this is not the masked dump the vault was written with (its digest differs); its originals were looked for anyway');
  }
  return `${lines.join('\n')}\n`;
}

function formatSmall(x: number): string {
  if (x === 0) return '0';
  if (x < 0.001) return x.toExponential(1);
  return x.toPrecision(2);
}

/** The report as JSON (for --json): the same numbers, places by table and column. */
export function leakReportJson(report: LeakReport & { vaultMatchesInput?: boolean }): Record<string, unknown> {
  return {
    places: report.places.map((p) => ({ ...p, name: placeName(p) })),
    finds: report.finds,
    values: report.values,
    distinct: report.distinct,
    filterBytes: report.filterBytes,
    lookups: report.lookups,
    falsePositiveBound: report.falsePositiveBound,
    expectedFalseFinds: report.expectedFalseFinds,
    bytesScanned: report.bytesScanned,
    vaultMatchesInput: report.vaultMatchesInput,
  };
}
