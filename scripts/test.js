#!/usr/bin/env node
// `npm test`: type-check and build, run every vitest suite, and end with one plain
// line `N passed, N failed, N skipped` that CI can read whatever the runner prints.
// When the native COPY kernel is built, the masking, unmasking and vault suites run a second
// time without it (PGCLOAK_NATIVE=0), so the JavaScript kernel users without a C
// compiler get is tested the same way; the line counts both runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-test-'));

/** One vitest run; its counts, or undefined when it died before writing its report. */
function vitest(name, args, env = process.env) {
  const report = join(dir, `${name}.json`);
  const run = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], { stdio: 'inherit', env });
  try {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    // A test file that fails to load has no failed test in it, but is a failure all the same.
    const failedFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed')).length;
    return { status: run.status ?? 1, passed: r.numPassedTests, failed: r.numFailedTests + failedFiles, skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0) };
  } catch {
    return { status: run.status ?? 1 };
  }
}

const runs = [vitest('all', process.argv.slice(2))];
const nativeBuilt = existsSync(new URL('../build/Release/pgcloak_native.node', import.meta.url));
if (nativeBuilt && process.argv.length <= 2 && process.env.PGCLOAK_NATIVE !== '0') {
  console.log('\nnpm test: the masking, unmasking and vault suites again, with the JavaScript kernel only (PGCLOAK_NATIVE=0)\n');
  const { PGCLOAK_REQUIRE_NATIVE: _required, ...env } = process.env;
  runs.push(vitest('js-kernel', ['test/mask', 'test/unmask', 'test/vault'], { ...env, PGCLOAK_NATIVE: '0' }));
}
rmSync(dir, { recursive: true, force: true });
const line = runs.every((r) => r.passed !== undefined)
  ? `${runs.reduce((n, r) => n + r.passed, 0)} passed, ${runs.reduce((n, r) => n + r.failed, 0)} failed, ${runs.reduce((n, r) => n + r.skipped, 0)} skipped`
  : 'test results unreadable';
console.log(line);
process.exit(runs.find((r) => r.status !== 0)?.status ?? 0);
