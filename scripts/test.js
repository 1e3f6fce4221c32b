#!/usr/bin/env node
// `npm test`: type-check and build, run every vitest suite, and end with one plain
// line `N passed, N failed, N skipped` that CI can read whatever the runner prints.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-test-'));
const report = join(dir, 'results.json');
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit' });
let line = 'test results unreadable';
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A test file that fails to load has no failed test in it, but is a failure all the same.
  const failedFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed')).length;
  line = `${r.numPassedTests} passed, ${r.numFailedTests + failedFiles} failed, ${skipped} skipped`;
} catch {
  // vitest died before writing its report: its exit code says enough
}
rmSync(dir, { recursive: true, force: true });
console.log(line);
process.exit(run.status ?? 1);
