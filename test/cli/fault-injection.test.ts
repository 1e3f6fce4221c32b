// Issue 18 through the real CLI (dist/): every way a run can fail, and what it must leave.
// Each case checks the exit code, the message, that every file that existed before is
// byte for byte what it was, and that no temporary file or lock remains. Runs that must be
// caught mid-way read a generated dump from a pipe this test holds: the child is still
// running, with its temporary files in place, when the signal (or the other run) comes.
// The full-disk cases mount a 1 MiB tmpfs, and are skipped with a message where that is
// not allowed.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  createReadStream,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { describeRun, repoRoot, runPgcloak, runPgcloakOk, type PgcloakOptions, type PgcloakResult } from '../integration/cli.js';

const root = mkdtempSync(join(tmpdir(), 'pgcloak-faults-'));
/** The full-disk cases' tmpfs, once mounted: unmounted here, which runs even when those cases are filtered out. */
let mountedAt: string | undefined;
afterAll(() => {
  if (mountedAt) spawnSync('umount', [mountedAt]);
  rmSync(root, { recursive: true, force: true });
});

const INPUT = 'fixtures/golden/types/input.sql';
const RULES = 'fixtures/golden/types/rules.yaml';
const HEAVY = 'bench/rules/heavy.yaml';
const key = join(root, 'k');
runPgcloakOk(['keygen', '--output', key, '--quiet']);
/** A dump large enough that a run is far from done when the test stops feeding it. */
const big = join(root, 'erp.sql');
execFileSync(process.execPath, ['bench/generate.js', '--size', '24MiB', '--output', big]);

let caseNo = 0;
/** A fresh directory for one case: what is in it afterwards is what the case left. */
function caseDir(): string {
  const d = join(root, `case-${++caseNo}`);
  mkdirSync(d);
  return d;
}

/** Files whose names say a run left them: temporary files and locks. */
function leftovers(d: string): string[] {
  return readdirSync(d).filter((f) => /\.tmp(-\d+)?$|\.lock$|\.old$/.test(f));
}

/** Every file in `d` with its bytes: compared before and after a failed run. */
function snapshot(d: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isFile()) files.set(f, readFileSync(p));
  }
  return files;
}

/** The run failed as a user error must: this exit code, no stack trace, no internal error. */
function expectFailure(r: PgcloakResult, code: number, message: RegExp, args: string[] = []): void {
  expect(r.status, describeRun(args, r)).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at |node:internal/);
}

/** After a failed run: the directory holds exactly what it held before, byte for byte. */
function expectUnchanged(d: string, before: Map<string, Buffer>): void {
  const after = snapshot(d);
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [name, bytes] of before) expect(after.get(name)!.equals(bytes), `${name} changed`).toBe(true);
  expect(leftovers(d)).toEqual([]);
}

function mask(args: string[], options: PgcloakOptions = {}): PgcloakResult {
  return runPgcloak(['mask', '--key-file', key, '-q', ...args], options);
}

interface Held {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Sends the rest of the input and closes it. */
  release(): void;
}

/**
 * Starts the CLI reading `input` from a pipe, and stops feeding it after `holdAfter` bytes:
 * the run waits for more, in the middle of its work, until release().
 */
function startHeld(args: string[], input: string, holdAfter: number, env: NodeJS.ProcessEnv = {}): Held {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'pgcloak.js'), ...args], { cwd: repoRoot, stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // The child may die (a signal) while bytes are on their way: not this test's error.
  child.stdin!.on('error', () => undefined);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  const source = createReadStream(input, { highWaterMark: 256 * 1024 });
  let sent = 0;
  let held = false;
  let released = false;
  source.on('data', (chunk) => {
    child.stdin!.write(chunk);
    sent += chunk.length;
    if (sent >= holdAfter && !released) {
      held = true;
      source.pause();
    }
  });
  source.on('end', () => child.stdin!.end());
  return {
    child,
    exit,
    release() {
      released = true;
      if (held) source.resume();
    },
  };
}

/** Waits until `d` holds a file matching `name` with at least `minBytes` in it (the run is under way). */
async function waitForFile(d: string, name: RegExp, minBytes = 1, held?: Held): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = readdirSync(d).find((f) => name.test(f) && statSync(join(d, f)).size >= minBytes);
    if (found) return join(d, found);
    if (held && held.child.exitCode !== null) throw new Error(`the run ended before ${name} appeared: ${await held.exit.then((e) => e.stderr)}`);
    if (Date.now() > deadline) throw new Error(`no ${name} in ${d} after 60 s: ${readdirSync(d).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('1. a vault is never replaced silently; -o never replaces what the run reads', () => {
  it('refuses an existing vault (VAULT_EXISTS, exit 5) and leaves it, the output and everything else as they were', () => {
    const d = caseDir();
    const vault = join(d, 'v');
    const out = join(d, 'out.sql');
    runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '-q', '-i', INPUT, '-o', out]);
    const before = snapshot(d);
    const r = mask(['--rules', RULES, '--vault', vault, '-i', INPUT, '-o', out]);
    expectFailure(r, EXIT_CODES.VAULT_EXISTS, /VAULT_EXISTS: vault .*\/v exists already: .*--force to replace it/);
    expectUnchanged(d, before);
    // The old vault still reverses the old output.
    const back = runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '-q', '-i', out]);
    expect(back.stdout.equals(readFileSync(INPUT))).toBe(true);
  });

  it('replaces it with --force, and the new one reverses the new output', () => {
    const d = caseDir();
    const vault = join(d, 'v');
    writeFileSync(vault, 'an older vault');
    const out = join(d, 'out.sql');
    runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '-q', '-i', INPUT, '-o', out, '--force']);
    const back = runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '-q', '-i', out]);
    expect(back.stdout.equals(readFileSync(INPUT))).toBe(true);
    expect(leftovers(d)).toEqual([]);
  });

  it('always refuses a vault that is the key file, the identity, the rules, the schema, the input or the output, even with --force', () => {
    const d = caseDir();
    const rules = join(d, 'rules.yaml');
    writeFileSync(rules, readFileSync(RULES));
    const input = join(d, 'in.sql');
    writeFileSync(input, readFileSync(INPUT));
    const localKey = join(d, 'k');
    runPgcloakOk(['keygen', '--output', localKey, '--quiet']);
    runPgcloakOk(['keygen', '--public', '--output', join(d, 'id'), '--quiet']);
    symlinkSync(localKey, join(d, 'key-link'));
    linkSync(input, join(d, 'in-hard.sql'));
    const before = snapshot(d);
    const cases: [string[], RegExp][] = [
      [['--rules', RULES, '--vault', localKey, '--key-file', localKey, '-i', input], /--vault and --key-file name the same file/],
      [['--rules', RULES, '--vault', join(d, 'key-link'), '--key-file', localKey, '-i', input], /--vault and --key-file name the same file/],
      [['--rules', RULES, '--vault', join(d, 'id.pub'), '--recipient', join(d, 'id.pub'), '-i', input], /--vault and --recipient name the same file/],
      [['--rules', RULES, '--vault', join(d, 'id'), '--identity', join(d, 'id'), '-i', input], /--vault and --identity name the same file/],
      [['--rules', rules, '--vault', rules, '--key-file', localKey, '-i', input], /--vault and --rules name the same file/],
      [['--rules', RULES, '--vault', join(d, 'in-hard.sql'), '--key-file', localKey, '-i', input], /--vault and --input name the same file/],
      [['--rules', RULES, '--vault', join(d, 'x'), '--key-file', localKey, '-i', input, '-o', join(d, 'x')], /--vault and --output name the same file \(.*x\): give each a path of its own/],
      [['--rules', RULES, '--vault', join(d, 'p'), '--key-file', localKey, '--pseudonym-key', join(d, 'p'), '-i', input], /--vault and --pseudonym-key name the same file/],
      [['--rules', RULES, '--vault', join(d, 's.sql'), '--key-file', localKey, '--format', 'copy-text', '--table', 'person', '--schema', join(d, 's.sql'), '-i', input], /--vault and --schema name the same file/],
    ];
    for (const [i, [args, message]] of cases.entries()) {
      // --force changes nothing here: tried on every other case, to keep the run short.
      for (const force of i % 2 === 0 ? [[], ['--force']] : [[]]) {
        const argv = ['mask', ...args, ...force, '-q'];
        const r = runPgcloak(argv);
        expectFailure(r, EXIT_CODES.USAGE, message, argv);
        expect(r.stderr).not.toMatch(/EEXIST|\.tmp/);
      }
    }
    expectUnchanged(d, before);
  });

  it('refuses -o naming the input (as ./x, through a hard link or a symlink, or as stdin), a key, the rules or the vault, for mask and unmask', () => {
    const d = caseDir();
    const input = join(d, 'in.sql');
    writeFileSync(input, readFileSync(INPUT));
    linkSync(input, join(d, 'hard.sql'));
    symlinkSync(input, join(d, 'sym.sql'));
    const vault = join(d, 'v');
    const masked = join(d, 'masked.sql');
    runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '-q', '-i', input, '-o', masked]);
    const map = join(d, 'map.yaml');
    writeFileSync(map, 'tables: {}\n');
    const before = snapshot(d);
    const rel = (p: string): string => `./${p.slice(repoRoot.length + 1)}`;
    const runs: [string[], RegExp, PgcloakOptions?][] = [
      [['mask', '--rules', RULES, '--vault', join(d, 'v2'), '--key-file', key, '-i', input, '-o', join(d, 'hard.sql')], /--output and --input name the same file/],
      [['mask', '--rules', RULES, '--vault', join(d, 'v2'), '--key-file', key, '-i', input, '-o', join(d, 'sym.sql')], /--output and --input name the same file/],
      [['mask', '--rules', RULES, '--vault', join(d, 'v2'), '--key-file', key, '-i', input, '-o', input.startsWith(repoRoot) ? rel(input) : input], /--output and --input name the same file/],
      [['mask', '--rules', RULES, '--vault', join(d, 'v2'), '--key-file', key, '-o', input], /--output and standard input name the same file/, { input }],
      [['mask', '--rules', RULES, '--vault', join(d, 'v2'), '--key-file', key, '-i', input, '-o', key], /--output and --key-file name the same file/],
      [['mask', '--rules', map, '--vault', join(d, 'v2'), '--key-file', key, '-i', input, '-o', map], /--output and --rules name the same file/],
      [['unmask', '--vault', vault, '--key-file', key, '-i', masked, '-o', masked], /--output and --input name the same file/],
      [['unmask', '--vault', vault, '--key-file', key, '-i', masked, '-o', vault], /--output and --vault name the same file/],
      [['unmask', '--vault', vault, '--key-file', key, '-i', masked, '-o', key], /--output and --key-file name the same file/],
      [['unmask', '--vault', vault, '--key-file', key, '--sql', '--output', vault], /--output and --vault name the same file/],
      [['unmask', '--vault', vault, '--key-file', key, '--sql', '--map', map, '--output', map], /--output and --map name the same file/],
    ];
    for (const [args, message, options] of runs) expectFailure(runPgcloak([...args, '-q'], options), EXIT_CODES.USAGE, message, args);
    expectUnchanged(d, before);
  });

  it('replaces an existing ordinary output file (as a shell redirect would), with mode 0600', () => {
    const d = caseDir();
    const out = join(d, 'out.sql');
    writeFileSync(out, 'old output', { mode: 0o644 });
    runPgcloakOk(['mask', '--rules', RULES, '--vault', join(d, 'v'), '--key-file', key, '-q', '-i', INPUT, '-o', out]);
    expect(readFileSync(out).equals(readFileSync('fixtures/golden/types/expected.sql'))).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(leftovers(d)).toEqual([]);
  });
});

describe('2. an empty input is an error that names the likely cause and leaves nothing', () => {
  it.each([
    ['nothing at all', Buffer.alloc(0), /INPUT_FORMAT: nothing was read from standard input: the command before the pipe \(pg_dump\?\) most likely failed/],
    ['only comments and blank lines', Buffer.from('--\n-- PostgreSQL database dump\n--\n\n/* nothing /* nested */ */\n\n'), /INPUT_FORMAT: standard input holds no SQL statement, only comments and blank lines \(\d+ bytes\)/],
  ])('mask of %s: INPUT_FORMAT, the old output untouched, no vault', (_what, input, message) => {
    const d = caseDir();
    writeFileSync(join(d, 'out.sql'), 'old output');
    const before = snapshot(d);
    expectFailure(mask(['--rules', RULES, '--vault', join(d, 'v'), '-o', join(d, 'out.sql')], { input }), EXIT_CODES.INPUT_FORMAT, message);
    expectUnchanged(d, before);
  });

  it('an empty --input file, and unmask of nothing, too', () => {
    const d = caseDir();
    const empty = join(d, 'empty.sql');
    writeFileSync(empty, '');
    const vault = join(d, 'v');
    runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '-q', '-i', INPUT, '-o', join(d, 'masked.sql')]);
    const before = snapshot(d);
    expectFailure(mask(['--rules', RULES, '--vault', join(d, 'v2'), '-i', empty]), EXIT_CODES.INPUT_FORMAT, /INPUT_FORMAT: .*empty\.sql is empty/);
    expectFailure(runPgcloak(['unmask', '--vault', vault, '--key-file', key, '-o', join(d, 'back.sql')], { input: Buffer.alloc(0) }), EXIT_CODES.INPUT_FORMAT, /nothing was read from standard input/);
    expectUnchanged(d, before);
  });
});

describe('3. a rules file that masks nothing', () => {
  it.each([
    ['empty', ''],
    ['only comments', '# rules to come\n\n# later\n'],
    ['without tables:', 'tables:\n'],
  ])('%s: RULES_INVALID (exit 3), nothing written', (_what, text) => {
    const d = caseDir();
    const rules = join(d, 'rules.yaml');
    writeFileSync(rules, text);
    const before = snapshot(d);
    const r = mask(['--rules', rules, '--vault', join(d, 'v'), '-i', INPUT, '-o', join(d, 'out.sql')]);
    expectFailure(r, EXIT_CODES.RULES_INVALID, /RULES_INVALID: .*it would mask nothing\. Write `tables: \{\}` to mask nothing on purpose/);
    expectUnchanged(d, before);
  });

  it('tables: {} runs, says loudly that nothing was masked (also under --quiet and in --json), and --strict refuses it', () => {
    const d = caseDir();
    const rules = join(d, 'rules.yaml');
    writeFileSync(rules, 'tables: {}\n');
    const quiet = runPgcloakOk(['mask', '--rules', rules, '--vault', join(d, 'v1'), '--key-file', key, '-q', '-i', INPUT]);
    expect(quiet.stdout.equals(readFileSync(INPUT))).toBe(true);
    expect(quiet.stderr).toMatch(/warning: nothing was masked: the rules name no table \(tables: \{\}\); the output is the input, unchanged/);
    const text = runPgcloakOk(['mask', '--rules', rules, '--vault', join(d, 'v2'), '--key-file', key, '-i', INPUT]);
    expect(text.stderr).toMatch(/NOTHING WAS MASKED: the rules name no table/);
    const json = runPgcloakOk(['mask', '--rules', rules, '--vault', join(d, 'v3'), '--key-file', key, '--json', '-i', INPUT]);
    expect(JSON.parse(json.stderr.trim().split('\n').pop()!).nothingMasked).toMatch(/no table/);
    const before = snapshot(d);
    expectFailure(mask(['--rules', rules, '--vault', join(d, 'v4'), '--strict', '-i', INPUT, '-o', join(d, 'o.sql')]), EXIT_CODES.RULES_INVALID, /--strict: .* names no table \(tables: \{\}\): nothing would be masked/);
    expectUnchanged(d, before);
  });
});

/** Old output and (with --force) old vault in `d`, and the arguments of a mask that would replace both. */
function replacingRun(d: string, input = INPUT, rules = RULES): { args: string[]; before: Map<string, Buffer> } {
  const vault = join(d, 'v');
  const out = join(d, 'out.sql');
  runPgcloakOk(['mask', '--rules', rules, '--vault', vault, '--key-file', key, '-q', '-i', input, '-o', out]);
  return { args: ['mask', '--rules', rules, '--vault', vault, '--key-file', key, '-q', '-o', out, '--force'], before: snapshot(d) };
}

describe('4. output and vault are committed together: a failure at any step touches neither old file', () => {
  for (const step of ['sync-output', 'backup-vault', 'rename-vault', 'rename-output'] as const) {
    it(`a failure at ${step}: exit IO, the old vault and the old output as they were, no temporary file`, () => {
      const d = caseDir();
      const { args, before } = replacingRun(d);
      const r = runPgcloak([...args, '-i', INPUT], { env: { PGCLOAK_TEST_FAIL_AT: step } });
      expectFailure(r, EXIT_CODES.IO, new RegExp(`IO: cannot .*injected by PGCLOAK_TEST_FAIL_AT=${step}.*nothing was replaced`), args);
      expectUnchanged(d, before);
      // The old pair still works.
      const back = runPgcloakOk(['unmask', '--vault', join(d, 'v'), '--key-file', key, '-q', '-i', join(d, 'out.sql')]);
      expect(back.stdout.equals(readFileSync(INPUT))).toBe(true);
    });
  }

  it('a failed output rename takes a new vault back out (no vault existed before)', () => {
    const d = caseDir();
    writeFileSync(join(d, 'out.sql'), 'old output');
    const before = snapshot(d);
    const r = runPgcloak(['mask', '--rules', RULES, '--vault', join(d, 'v'), '--key-file', key, '-q', '-i', INPUT, '-o', join(d, 'out.sql')], { env: { PGCLOAK_TEST_FAIL_AT: 'rename-output' } });
    expectFailure(r, EXIT_CODES.IO, /cannot put the output in place/);
    expectUnchanged(d, before);
  });

  it('a rename that really fails (the output path became a directory mid-run): the old vault is put back', async () => {
    const d = caseDir();
    const { args, before } = replacingRun(d, big, HEAVY);
    const held = startHeld(args, big, 4 << 20);
    await waitForFile(d, /^out\.sql\.tmp-\d+$/, 1, held);
    // The old output goes and a directory takes its name: the output's rename must fail.
    rmSync(join(d, 'out.sql'));
    mkdirSync(join(d, 'out.sql'));
    writeFileSync(join(d, 'out.sql', 'inside'), 'x');
    held.release();
    const { code, stderr } = await held.exit;
    expect(code, stderr).toBe(EXIT_CODES.IO);
    expect(stderr).toMatch(/cannot put the output in place at .*out\.sql \(EISDIR/);
    expect(stderr).not.toMatch(/internal error|\n\s+at /);
    rmSync(join(d, 'out.sql'), { recursive: true });
    before.delete('out.sql');
    expectUnchanged(d, before);
  });

  it('-o naming a directory, or a missing directory, fails before any work: no vault', () => {
    const d = caseDir();
    mkdirSync(join(d, 'dir'));
    const before = snapshot(d);
    expectFailure(mask(['--rules', RULES, '--vault', join(d, 'v'), '-i', INPUT, '-o', join(d, 'dir')]), EXIT_CODES.USAGE, /--output .*dir is a directory: name a file/);
    expectFailure(mask(['--rules', RULES, '--vault', join(d, 'v'), '-i', INPUT, '-o', join(d, 'missing', 'x.sql')]), EXIT_CODES.IO, /IO: cannot write --output .*missing\/x\.sql: directory .*missing does not exist/);
    expectFailure(mask(['--rules', RULES, '--vault', join(d, 'missing', 'v'), '-i', INPUT]), EXIT_CODES.IO, /cannot write --vault .*: directory .*missing does not exist/);
    expectFailure(mask(['--rules', RULES, '--vault', join(d, 'dir'), '-i', INPUT, '--force']), EXIT_CODES.USAGE, /--vault .*dir is a directory/);
    expect(readdirSync(d)).toEqual(['dir']);
    expect(readdirSync(join(d, 'dir'))).toEqual([]);
    expectUnchanged(d, before);
  });
});

describe('5. two runs on one vault', () => {
  it('the second fails with VAULT_LOCKED naming the first one\'s pid; the first completes and its vault works', async () => {
    const d = caseDir();
    const vault = join(d, 'v');
    const first = startHeld(['mask', '--rules', HEAVY, '--vault', vault, '--key-file', key, '-q', '-o', join(d, 'first.sql')], big, 4 << 20);
    await waitForFile(d, /^v\.tmp$/, 1, first);
    const second = mask(['--rules', HEAVY, '--vault', vault, '-i', big, '-o', join(d, 'second.sql')]);
    expectFailure(second, EXIT_CODES.VAULT_LOCKED, new RegExp(`VAULT_LOCKED: vault .*v is being written by another pgcloak run \\(pid ${first.child.pid}, since .*; lock file .*v\\.lock\\)`));
    // --force does not break a lock either.
    expectFailure(mask(['--rules', HEAVY, '--vault', vault, '-i', big, '-o', join(d, 'second.sql'), '--force']), EXIT_CODES.VAULT_LOCKED, /being written by another pgcloak run/);
    first.release();
    const { code, stderr } = await first.exit;
    expect(code, stderr).toBe(0);
    expect(existsSync(join(d, 'second.sql'))).toBe(false);
    expect(leftovers(d)).toEqual([]);
    const back = join(d, 'back.sql');
    runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '-q', '-i', join(d, 'first.sql'), '-o', back]);
    expect(readFileSync(back).equals(readFileSync(big))).toBe(true);
  });

  it('a lock left by a killed run (kill -9) is named as such, with what to do', async () => {
    const d = caseDir();
    const vault = join(d, 'v');
    const run = startHeld(['mask', '--rules', HEAVY, '--vault', vault, '--key-file', key, '-q', '-o', join(d, 'out.sql')], big, 4 << 20);
    await waitForFile(d, /^v\.tmp$/, 1, run);
    const pid = run.child.pid!;
    run.child.kill('SIGKILL');
    await run.exit;
    const r = mask(['--rules', HEAVY, '--vault', vault, '-i', INPUT]);
    expectFailure(r, EXIT_CODES.VAULT_LOCKED, new RegExp(`locked by pgcloak run ${pid} .*no longer running.*remove .*v\\.lock and run again`));
    // Doing what it says: the next run cleans the rest of what the killed one left under the lock.
    rmSync(join(d, 'v.lock'));
    rmSync(join(d, `out.sql.tmp-${pid}`), { force: true });
    runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '-q', '-i', INPUT, '-o', join(d, 'out.sql')]);
    expect(leftovers(d)).toEqual([]);
  });
});

describe('6. signals remove every temporary file; files that hold originals are 0600', () => {
  const masked = join(root, 'erp-masked.sql');
  const maskedVault = join(root, 'erp.vault');
  beforeAll(() => {
    runPgcloakOk(['mask', '--rules', HEAVY, '--vault', maskedVault, '--key-file', key, '-q', '-i', big, '-o', masked]);
  });

  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    it(`${signal} during mask: exit ${128 + number}, temporary files (0600 while they live) and the lock removed, old files untouched`, async () => {
      const d = caseDir();
      const { args, before } = replacingRun(d);
      const held = startHeld(args.map((a) => (a === RULES ? HEAVY : a)), big, 4 << 20);
      const tmp = await waitForFile(d, /^out\.sql\.tmp-\d+$/, 1, held);
      expect(statSync(tmp).mode & 0o777).toBe(0o600);
      expect(statSync(join(d, 'v.tmp')).mode & 0o777).toBe(0o600);
      expect(existsSync(join(d, 'v.lock'))).toBe(true);
      held.child.kill(signal);
      const { code, stderr } = await held.exit;
      expect(code, stderr).toBe(128 + number);
      expect(stderr).toMatch(new RegExp(`stopped by ${signal}: its temporary files are removed, nothing was put in place`));
      expectUnchanged(d, before);
    });

    it(`${signal} during unmask: exit ${128 + number}, the partial originals removed`, async () => {
      const d = caseDir();
      writeFileSync(join(d, 'back.sql'), 'old output');
      const before = snapshot(d);
      const held = startHeld(['unmask', '--vault', maskedVault, '--key-file', key, '-q', '-o', join(d, 'back.sql')], masked, 4 << 20);
      const tmp = await waitForFile(d, /^back\.sql\.tmp-\d+$/, 1, held);
      expect(statSync(tmp).mode & 0o777).toBe(0o600);
      held.child.kill(signal);
      const { code } = await held.exit;
      expect(code).toBe(128 + number);
      expectUnchanged(d, before);
    });
  }

  it('timeout (SIGTERM) on a run whose producer pauses leaves nothing either', () => {
    const d = caseDir();
    // The input stops for 5 s half-way: the run is still going when timeout's SIGTERM comes at 2 s.
    const script = `(cat ${big}; sleep 5; cat ${big}) | timeout -s TERM 2 node bin/pgcloak.js mask --rules ${HEAVY} --vault ${join(d, 'v')} --key-file ${key} -q -o ${join(d, 'o.sql')}`;
    const r = spawnSync('bash', ['-c', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(124);
    expect(r.stderr).toMatch(/stopped by SIGTERM: its temporary files are removed/);
    expect(readdirSync(d)).toEqual([]);
  });

  it('unmask writes its output, and --sql its script, with mode 0600', () => {
    const d = caseDir();
    const vault = join(d, 'v');
    const out = join(d, 'masked.sql');
    runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '-q', '-i', INPUT, '-o', out]);
    runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '-q', '-i', out, '-o', join(d, 'back.sql')]);
    runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '-q', '--sql', '--output', join(d, 'restore.sql')]);
    expect(statSync(join(d, 'back.sql')).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'restore.sql')).mode & 0o777).toBe(0o600);
    expect(statSync(vault).mode & 0o777).toBe(0o600);
    expect(leftovers(d)).toEqual([]);
  });
});

describe('10. documented exit codes only, never a stack trace', () => {
  it('repeated single-value options are a usage error before any work', () => {
    const d = caseDir();
    const rules = join(d, 'r.yaml');
    writeFileSync(rules, readFileSync(RULES));
    const base = ['mask', '--rules', rules, '--vault', join(d, 'v'), '--key-file', key, '-i', INPUT];
    for (const [option, value] of [
      ['--vault', join(d, 'v')],
      ['--rules', rules],
      ['--key-file', key],
      ['-o', join(d, 'o.sql')],
      ['--output', join(d, 'o.sql')],
      ['--input', INPUT],
    ] as const) {
      const args = base.includes(option) || option === '--input' ? [...base, option, value] : [...base, option, value, option, value];
      const r = runPgcloak(args);
      expectFailure(r, EXIT_CODES.USAGE, new RegExp(`USAGE: ${option === '-o' ? '--output' : option} is given 2 times: it takes one value`), args);
      expect(r.stderr).not.toMatch(/pgcloak mask:/); // no summary: nothing ran
    }
    expectFailure(runPgcloak(['unmask', '--vault', 'a', '--vault', 'b', '--key-file', key]), EXIT_CODES.USAGE, /--vault is given 2 times/);
    expect(readdirSync(d)).toEqual(['r.yaml']);
  });

  it('a YAML alias bomb in the rules file is RULES_INVALID', () => {
    const d = caseDir();
    const rules = join(d, 'bomb.yaml');
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'g'], ['g', 'h']]) lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    writeFileSync(rules, `${lines.join('\n')}\ntables: {}\n`);
    const before = snapshot(d);
    expectFailure(mask(['--rules', rules, '--vault', join(d, 'v'), '-i', INPUT]), EXIT_CODES.RULES_INVALID, /RULES_INVALID: the rules file has 1 problem\(s\):\n  YAML: Excessive alias count/);
    expectUnchanged(d, before);
  });

  it('unmask -o DIR is a usage error', () => {
    const d = caseDir();
    const vault = join(d, 'v');
    runPgcloakOk(['mask', '--rules', RULES, '--vault', vault, '--key-file', key, '-q', '-i', INPUT, '-o', join(d, 'm.sql')]);
    mkdirSync(join(d, 'dir'));
    const before = snapshot(d);
    expectFailure(runPgcloak(['unmask', '--vault', vault, '--key-file', key, '-i', join(d, 'm.sql'), '-o', join(d, 'dir')]), EXIT_CODES.USAGE, /--output .*dir is a directory/);
    expectUnchanged(d, before);
    expect(readdirSync(join(d, 'dir'))).toEqual([]);
  });

  it('mask | head: one line, exit 7, no vault', () => {
    const d = caseDir();
    const r = spawnSync('bash', ['-c', `node bin/pgcloak.js mask --rules ${HEAVY} --vault ${join(d, 'v')} --key-file ${key} -q -i ${big} | head -c 100 > /dev/null; exit \${PIPESTATUS[0]}`], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(EXIT_CODES.IO);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^pgcloak: IO: the output was closed before the end \(EPIPE/)]);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('12. keys and help', () => {
  it('warns when a key file, identity or pseudonym key is open to group or others, and not when it is 0600', () => {
    const d = caseDir();
    const k = join(d, 'k');
    runPgcloakOk(['keygen', '--output', k, '--quiet']);
    runPgcloakOk(['keygen', '--public', '--output', join(d, 'id'), '--quiet']);
    const quietRun = runPgcloakOk(['mask', '--rules', RULES, '--vault', join(d, 'v0'), '--key-file', k, '-q', '-i', INPUT]);
    expect(quietRun.stderr).toBe('');
    chmodSync(k, 0o644);
    const r = runPgcloakOk(['mask', '--rules', RULES, '--vault', join(d, 'v1'), '--key-file', k, '-q', '-i', INPUT]);
    expect(r.stderr).toMatch(/warning: key file .*k is open to its group and others \(mode 0644\): whoever can read it can open every vault made with it\. Run: chmod 600 /);
    chmodSync(k, 0o640);
    const masked = runPgcloakOk(['mask', '--rules', RULES, '--vault', join(d, 'v2'), '--recipient', join(d, 'id.pub'), '--pseudonym-key', k, '-q', '-i', INPUT]);
    expect(masked.stderr).toMatch(/warning: pseudonym key .*k is open to its group \(mode 0640\)/);
    chmodSync(join(d, 'id'), 0o604);
    const back = runPgcloakOk(['unmask', '--vault', join(d, 'v2'), '--identity', join(d, 'id'), '--pseudonym-key', k, '-q'], { input: masked.stdout });
    expect(back.stderr).toMatch(/warning: secret key \(--identity\) .*id is open to others \(mode 0604\)/);
    expect(back.stdout.equals(readFileSync(INPUT))).toBe(true);
  });

  it('help lists only the command\'s own key option', () => {
    const option = (name: string): RegExp => new RegExp(`^\\s+--${name}\\b`, 'm');
    const maskHelp = runPgcloakOk(['mask', '--help']).stdout.toString();
    expect(maskHelp).toMatch(option('recipient'));
    expect(maskHelp).not.toMatch(option('identity'));
    expect(maskHelp).toMatch(option('force'));
    for (const command of [['unmask'], ['scan'], ['vault', 'info']]) {
      const help = runPgcloakOk([...command, '--help']).stdout.toString();
      expect(help, command.join(' ')).toMatch(option('identity'));
      expect(help, command.join(' ')).not.toMatch(option('recipient'));
    }
  });
});

describe('a full disk (a 1 MiB tmpfs)', () => {
  const mnt = join(root, 'full');
  mkdirSync(mnt);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
  const mounted = mount.status === 0;
  if (mounted) mountedAt = mnt;
  else process.stderr.write(`\nfault-injection: SKIPPING the full-disk cases: cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || '').trim()})\n\n`);

  it.skipIf(!mounted)('mask: output and vault on it, replacing both (--force): IO ENOSPC, both old files as they were', () => {
    const d = join(mnt, 'both');
    mkdirSync(d);
    const { args, before } = replacingRun(d);
    const r = runPgcloak([...args.map((a) => (a === RULES ? HEAVY : a)), '-i', big]);
    expectFailure(r, EXIT_CODES.IO, /ENOSPC/, args);
    expectUnchanged(d, before);
  });

  it.skipIf(!mounted)('mask: the vault on it, the output elsewhere: IO ENOSPC, no output', () => {
    const d = join(mnt, 'vault');
    mkdirSync(d);
    const elsewhere = caseDir();
    writeFileSync(join(elsewhere, 'out.sql'), 'old output');
    const beforeOut = snapshot(elsewhere);
    const r = runPgcloak(['mask', '--rules', HEAVY, '--vault', join(d, 'v'), '--key-file', key, '-q', '-i', big, '-o', join(elsewhere, 'out.sql')]);
    expectFailure(r, EXIT_CODES.IO, /IO: cannot write vault .*ENOSPC/);
    expect(readdirSync(d)).toEqual([]);
    expectUnchanged(elsewhere, beforeOut);
  });

  it.skipIf(!mounted)('unmask: the output on it: IO ENOSPC, the old output as it was', () => {
    const d = join(mnt, 'unmask');
    mkdirSync(d);
    const vault = join(root, 'full-src.vault');
    const masked = join(root, 'full-src.sql');
    runPgcloakOk(['mask', '--rules', HEAVY, '--vault', vault, '--key-file', key, '-q', '-i', big, '-o', masked]);
    writeFileSync(join(d, 'back.sql'), 'old output');
    const before = snapshot(d);
    expectFailure(runPgcloak(['unmask', '--vault', vault, '--key-file', key, '-q', '-i', masked, '-o', join(d, 'back.sql')]), EXIT_CODES.IO, /ENOSPC/);
    expectUnchanged(d, before);
  });
});
