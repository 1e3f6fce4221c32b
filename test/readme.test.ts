// The README and the pages of docs/ against the code they describe: the tables generated from
// it (strategies, exit codes), every `pgcloak <command> --option` an example shows, every
// relative link and anchor, the README's first screen, and its five-minute walkthrough run
// as written against the test cluster.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { strategiesTable } from '../src/strategies/registry.js';
import { repoRoot } from './integration/cli.js';
import { describeWithPg, dropDatabase, pg } from './integration/pg.js';

const DOCS = path.join(repoRoot, 'docs');
/** Every page: README.md and docs/*.md, by path relative to the repository. */
const pages = new Map<string, string>([
  ['README.md', readFileSync(path.join(repoRoot, 'README.md'), 'utf8')],
  ...readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f): [string, string] => [`docs/${f}`, readFileSync(path.join(DOCS, f), 'utf8')]),
]);
const readme = pages.get('README.md')!;

/** A page's lines, each with whether it is inside a fenced code block. */
function linesOf(text: string): { line: string; code: boolean; fence: boolean }[] {
  let code = false;
  return text.split('\n').map((line) => {
    if (line.startsWith('```')) {
      code = !code;
      return { line, code: true, fence: true };
    }
    return { line, code, fence: false };
  });
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replaceAll(' ', '-');
}

function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { line, code } of linesOf(text)) {
    const m = !code && /^#{1,6} (.+)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The rows of the first table under the heading `## title` (or `# title`), as cells. */
function tableUnder(text: string, title: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^#{1,6} /.test(l) && l.replace(/^#+ /, '') === title);
  expect(start, `heading "${title}"`).toBeGreaterThanOrEqual(0);
  const first = lines.findIndex((l, i) => i > start && l.startsWith('|'));
  const rows: string[][] = [];
  for (let i = first + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    // Cells split at pipes not escaped (`\|` is a pipe inside a cell).
    rows.push(lines[i]!.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

describe('the generated tables', () => {
  it('the strategies table as the registry makes it, wherever one is marked as generated', () => {
    const marked = [...pages].filter(([, text]) => text.includes('<!-- generated from src/strategies/registry.ts'));
    expect(marked.map(([name]) => name)).toEqual(['docs/rules.md']);
    for (const [, text] of marked) expect(text).toContain(`test/readme.test.ts keeps it in sync -->\n${strategiesTable()}`);
  });

  const exitCodes = [...new Set(Object.values(EXIT_CODES))].map(String).sort();
  const byExit = new Map<number, string[]>();
  for (const [code, exit] of Object.entries(EXIT_CODES)) {
    if (code !== 'OK' && code !== 'INTERNAL') byExit.set(exit, [...(byExit.get(exit) ?? []), code]);
  }

  it.each([['README.md'], ['docs/usage.md']])('%s: every exit code src/errors.ts maps to, and no other', (page) => {
    const codes = tableUnder(pages.get(page)!, 'Exit codes').map((r) => r[0]!);
    expect(codes.filter((c) => c !== '128+N').sort()).toEqual(exitCodes);
    expect(codes).toContain('128+N');
  });

  it('docs/usage.md: every error code in the row of its exit code, and no code in another row', () => {
    const rows = tableUnder(pages.get('docs/usage.md')!, 'Exit codes');
    for (const [exit, codes] of byExit) {
      const row = rows.find((r) => r[0] === String(exit))!;
      for (const code of codes) expect(row[1], `${code} (exit ${exit})`).toContain(`\`${code}\``);
    }
    for (const [exit, meaning] of rows) {
      for (const [, named] of meaning!.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)`/g)) {
        expect(EXIT_CODES[named as keyof typeof EXIT_CODES], `${named} in the row of exit ${exit}`).toBe(Number(exit));
      }
    }
  });
});

describe('the README', () => {
  it('shows the two set-up commands and the walkthrough on its first screen', () => {
    const lines = readme.split('\n');
    const firstScreen = lines.slice(0, 15).join('\n');
    expect(firstScreen).toContain('npm ci && npm run demo');
    expect(firstScreen).toContain('npm ci && npm test');
    const walkthrough = lines.findIndex((l) => l.startsWith('<!-- walkthrough:'));
    const end = lines.findIndex((l, i) => i > walkthrough + 1 && l.startsWith('```'));
    expect(walkthrough).toBeGreaterThan(0);
    // A terminal's first screen: some 50 lines.
    expect(end).toBeLessThan(50);
  });

  it('is short, and links every page of docs/', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(200);
    for (const page of pages.keys()) if (page !== 'README.md') expect(readme, page).toContain(`](${page})`);
  });
});

describe('links', () => {
  it.each([...pages.keys()])('%s: every relative link resolves, anchors included', (page) => {
    const problems: string[] = [];
    for (const { line, code } of linesOf(pages.get(page)!)) {
      if (code) continue;
      // Inline code may show link syntax without being a link.
      for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [file, anchor] = target!.split('#') as [string, string | undefined];
        const resolved = file === '' ? path.join(repoRoot, page) : path.resolve(repoRoot, path.dirname(page), file);
        if (!existsSync(resolved)) {
          problems.push(`${target}: no such file`);
          continue;
        }
        if (anchor !== undefined && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) problems.push(`${target}: no such heading`);
      }
    }
    expect(problems).toEqual([]);
  });
});

// ---------------------------------------------------------------------------

const COMMANDS = ['vault info', 'mask', 'unmask', 'keygen', 'inspect', 'scan', 'strategies'];

/** The options a command's --help lists (yargs lays them out two spaces in, aliases first). */
function helpOptions(command: string): Set<string> {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pgcloak.js'), ...command.split(' '), '--help'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return new Set([...r.stdout.matchAll(/^ {2}(?:-\w, | {4})--([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
}

/**
 * Options a command accepts without listing them: the other side of a key pair, taken only to
 * be refused with a message that names the right one (src/cli/main.ts).
 */
const HIDDEN: Record<string, string[]> = { mask: ['identity'], unmask: ['recipient'], scan: ['recipient'], 'vault info': ['recipient'] };

/** Options of other tools that the pages show: pg_dump, pg_restore, psql, npm and the benches. */
const OTHER_TOOLS = new Set([
  'inserts', 'column-inserts', 'rows-per-insert', 'schema-only', 'statistics-only', 'no-statistics', 'encoding', // pg_dump
  'size', 'rows', 'values', 'repeat', 'before', 'runs', 'cpu-prof', // bench/*.js, node
  'no-audit', 'no-fund', // npm
]);

/** Each command an example runs (`pgcloak mask ...`, or `mask --x` in inline code) with the options it gives. */
function commandUses(text: string): { command: string; options: string[]; where: string }[] {
  const uses: { command: string; options: string[]; where: string }[] = [];
  const pieces: string[] = [];
  for (const { line, code, fence } of linesOf(text)) {
    if (fence) continue;
    if (code) pieces.push(line.replace(/#.*$/, ''));
    else for (const [, span] of line.matchAll(/`([^`]+)`/g)) pieces.push(span!);
  }
  for (const piece of pieces) {
    // One shell command at a time: what follows a pipe or && belongs to another program.
    for (const part of piece.split(/\||&&|;/)) {
      const words = part.trim().split(/\s+/);
      const at = words.indexOf('pgcloak');
      // Without `pgcloak`, only inline code that starts with a command and an option (`mask --strict`).
      if (at < 0 && !COMMANDS.some((c) => part.trim().startsWith(`${c} --`))) continue;
      const rest = words.slice(at + 1).join(' ');
      const command = COMMANDS.find((c) => rest === c || rest.startsWith(`${c} `));
      if (command === undefined) continue;
      const options = [...rest.slice(command.length).matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!);
      uses.push({ command, options, where: part.trim() });
    }
  }
  return uses;
}

describe('command examples', () => {
  const known = new Map(COMMANDS.map((c) => [c, new Set([...helpOptions(c), ...(HIDDEN[c] ?? [])])]));
  const everyOption = new Set([...known.values()].flatMap((s) => [...s]));

  it.each([...pages.keys()])('%s: every pgcloak <command> --option is an option of that command', (page) => {
    const uses = commandUses(pages.get(page)!);
    const wrong = uses.flatMap((u) => u.options.filter((o) => !known.get(u.command)!.has(o)).map((o) => `${u.command} --${o} (in \`${u.where}\`)`));
    expect(wrong).toEqual([]);
  });

  it('the pages show examples of every command', () => {
    const shown = new Set([...pages.values()].flatMap((text) => commandUses(text).map((u) => u.command)));
    expect([...shown].sort()).toEqual([...COMMANDS].sort());
  });

  it.each([...pages.keys()])('%s: every --option named anywhere is pgcloak\'s or another tool\'s named here', (page) => {
    const named = new Set([...pages.get(page)!.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
    expect([...named].filter((o) => !everyOption.has(o) && !OTHER_TOOLS.has(o))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------

describeWithPg('the five-minute walkthrough', () => {
  let dir = '';
  afterAll(() => {
    for (const db of ['erp', 'erp_masked']) dropDatabase(db);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('runs as written: the masked dump restores, shows placeholders, and unmasks to the same bytes', () => {
    const lines = readme.split('\n');
    const from = lines.findIndex((l) => l.startsWith('<!-- walkthrough:')) + 2;
    const to = lines.findIndex((l, i) => i >= from && l.startsWith('```'));
    const block = lines.slice(from, to);
    expect(block.join('\n')).toMatch(/\| tee erp\.sql \| npx pgcloak mask /);
    // npm ci has been run (this is its test run); `npx pgcloak` is this checkout's CLI.
    const script = block
      .filter((l) => !l.startsWith('npm '))
      .map((l) => l.replaceAll('npx pgcloak', `"${process.execPath}" "${path.join(repoRoot, 'bin', 'pgcloak.js')}"`))
      .join('\n');
    dir = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-walkthrough-'));
    for (const d of ['fixtures', 'rules']) symlinkSync(path.join(repoRoot, d), path.join(dir, d));
    for (const db of ['erp', 'erp_masked']) dropDatabase(db);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
    Object.assign(env, { PATH: `${pg!.bin}:${process.env.PATH}`, PGHOST: pg!.host, PGPORT: String(pg!.port), PGUSER: pg!.user });
    const r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: dir, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ 1 \| xxx1 +\| xxx1 +\| xxx1/);
    expect(r.stdout.trimEnd().endsWith('identical')).toBe(true);
    expect(readFileSync(path.join(dir, 'erp-again.sql')).equals(readFileSync(path.join(dir, 'erp.sql')))).toBe(true);
    expect(readFileSync(path.join(dir, 'erp-masked.sql')).equals(readFileSync(path.join(dir, 'erp.sql')))).toBe(false);
  });
});
