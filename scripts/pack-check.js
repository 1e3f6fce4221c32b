#!/usr/bin/env node
// CI's package check (issue 20, item 4): what `npm publish` would ship, installed as a user
// installs it. `npm pack`, then:
//   1. the tarball holds everything the installed package needs (every module tsc makes of
//      src/, the bundled rules, the native kernel's source and build script, the README and
//      the docs/ pages it links to) and nothing else: no tests, fixtures, bench, TypeScript
//      sources or source maps, no module left in dist/ by a source since removed;
//   2. installed into an empty project (`npm install ./pgcloak-x.tgz`, the registry for its
//      dependencies): `npx pgcloak --version`, the library's entry point, and the demo's
//      round trip (fixtures/sample-erp/dump.sql masked with the installed rules/odoo-6.1.yaml
//      and a fresh key, unmasked, compared byte for byte) with the native kernel built, and
//      again with PGCLOAK_NATIVE=0: the same masked bytes from both kernels;
//   3. installed globally (`npm install -g` into a temporary prefix) where the native build
//      fails (CC=false): the install still succeeds and the round trip runs in JavaScript.
// Everything happens in one temporary directory, removed at the end.
//
//   node scripts/pack-check.js          (PGCLOAK_REQUIRE_NATIVE=1: the kernel must build in 2.)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const sampleDump = join(root, 'fixtures', 'sample-erp', 'dump.sql');
const work = mkdtempSync(join(tmpdir(), 'pgcloak-pack-check-'));
const started = Date.now();

function fail(message) {
  process.stderr.write(`pack-check: FAILED: ${message}\n`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
}

function step(message) {
  process.stdout.write(`pack-check: ${message} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
}

/** Runs a command; its stdout, or the run fails with its stderr. */
function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (r.error) fail(`${command} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} ${args.join(' ')} exited with ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** The environment for the installed package: without this checkout's kernel settings, plus `extra`. */
function cleanEnv(extra = {}) {
  const { PGCLOAK_NATIVE: _off, PGCLOAK_REQUIRE_NATIVE: _required, ...env } = process.env;
  return { ...env, ...extra };
}

// --- 1. what the tarball holds -------------------------------------------------------------

/** Files of the package that may be shipped; anything else in the tarball fails the check. */
const SHIPPED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE(\.md|\.txt)?$/,
  /^bin\/pgcloak\.js$/,
  /^dist\/.+\.js$/,
  /^dist\/.+\.d\.ts$/,
  /^docs\/[^/]+\.md$/,
  /^rules\/[^/]+\.yaml$/,
  /^native\/[^/]+\.c$/,
  /^binding\.gyp$/,
  /^scripts\/build-native\.js$/,
];

function filesUnder(dir, ext) {
  const out = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(rel, ext));
    else if (entry.name.endsWith(ext)) out.push(rel);
  }
  return out;
}

step(`npm pack (${pkg.name} ${pkg.version}; runs prepare: tsc)`);
const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root }))[0];
const tarball = join(work, packed.filename);
const shipped = new Set(packed.files.map((f) => f.path));

const unexpected = [...shipped].filter((f) => !SHIPPED.some((re) => re.test(f)));
if (unexpected.length > 0) fail(`the tarball holds files the installed package does not need (package.json "files"):\n  ${unexpected.join('\n  ')}`);

const sources = filesUnder('src', '.ts').filter((f) => !f.endsWith('.d.ts'));
const modules = sources.flatMap((f) => {
  const base = f.replace(/^src\//, 'dist/').replace(/\.ts$/, '');
  return [`${base}.js`, `${base}.d.ts`];
});
const required = [
  'package.json',
  'README.md',
  'bin/pgcloak.js',
  'binding.gyp',
  'scripts/build-native.js',
  ...filesUnder('native', '.c'),
  ...filesUnder('rules', '.yaml'),
  ...filesUnder('docs', '.md'),
  ...modules,
];
const missing = required.filter((f) => !shipped.has(f));
if (missing.length > 0) fail(`the tarball lacks files the installed package needs:\n  ${missing.join('\n  ')}`);

// A module compiled from a source that is gone (dist/ is not cleaned by tsc) would ship too.
const orphans = [...shipped].filter((f) => f.startsWith('dist/') && !modules.includes(f));
if (orphans.length > 0) fail(`dist/ holds modules no source in src/ makes (remove dist/ and build again):\n  ${orphans.join('\n  ')}`);

// The README and the docs pages link each other: every relative link must be in the tarball.
const broken = [];
for (const page of [...shipped].filter((f) => f.endsWith('.md'))) {
  const text = readFileSync(join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`]*`/g, '');
  for (const [, target] of text.matchAll(/\]\(([^)\s#]+)(#[^)\s]*)?\)/g)) {
    if (/^[a-z]+:/.test(target)) continue;
    const file = posix.normalize(posix.join(posix.dirname(page), target));
    if (!shipped.has(file)) broken.push(`${page} → ${target}`);
  }
}
if (broken.length > 0) fail(`links of the shipped pages to files not shipped:\n  ${broken.join('\n  ')}`);
step(`${packed.filename}: ${shipped.size} files, ${(packed.size / 1024).toFixed(0)} kB packed, ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked; none missing, none extra`);

// --- 2. installed into an empty project ---------------------------------------------------

/** mask → unmask of the sample dump with the installed rules and a fresh key, run in `cwd`; the masked bytes. */
function roundTrip(pgcloak, installed, label, env, cwd) {
  const dir = join(work, label);
  mkdirSync(dir);
  const key = join(dir, 'k');
  const vault = join(dir, 'v');
  const masked = join(dir, 'masked.sql');
  const again = join(dir, 'again.sql');
  const rules = join(installed, 'rules', 'odoo-6.1.yaml');
  run(pgcloak[0], [...pgcloak.slice(1), 'keygen', '--output', key, '-q'], { cwd, env });
  run(pgcloak[0], [...pgcloak.slice(1), 'mask', '--rules', rules, '--vault', vault, '--key-file', key, '--input', sampleDump, '--output', masked, '-q'], { cwd, env });
  run(pgcloak[0], [...pgcloak.slice(1), 'unmask', '--vault', vault, '--key-file', key, '--input', masked, '--output', again, '-q'], { cwd, env });
  const original = readFileSync(sampleDump);
  const maskedBytes = readFileSync(masked);
  if (maskedBytes.equals(original)) fail(`${label}: mask changed nothing`);
  if (!readFileSync(again).equals(original)) fail(`${label}: unmask did not give back the sample dump byte for byte`);
  return maskedBytes;
}

/** Which kernel the installed package runs, asked of the package itself. */
function kernelOf(installed, cwd, env) {
  return run(process.execPath, ['--input-type=module', '-e', `import { nativeStatus } from ${JSON.stringify(join(installed, 'dist', 'engine', 'native.js'))}; console.log(nativeStatus());`], { cwd, env }).trim();
}

const project = join(work, 'project');
mkdirSync(project);
writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'pgcloak-pack-check', version: '1.0.0', private: true }, null, 2)}\n`);
const requireNative = process.env.PGCLOAK_REQUIRE_NATIVE === '1';
step(`npm install ${packed.filename} into an empty project${requireNative ? ' (PGCLOAK_REQUIRE_NATIVE=1)' : ''}`);
run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: project, env: cleanEnv(requireNative ? { PGCLOAK_REQUIRE_NATIVE: '1' } : {}) });
const installed = join(project, 'node_modules', 'pgcloak');

const version = run('npx', ['--no', '--', 'pgcloak', '--version'], { cwd: project, env: cleanEnv() }).trim();
if (version !== pkg.version) fail(`npx pgcloak --version printed ${JSON.stringify(version)}, expected ${pkg.version}`);
const api = run(process.execPath, ['--input-type=module', '-e', "import * as p from 'pgcloak'; console.log(Object.keys(p).sort().join(' '))"], { cwd: project, env: cleanEnv() }).trim().split(' ');
for (const name of ['maskDump', 'unmaskDump', 'parseRules', 'generateKeyFile']) if (!api.includes(name)) fail(`import 'pgcloak' lacks ${name} (has ${api.join(', ')})`);

const kernel = kernelOf(installed, project, cleanEnv());
if (requireNative && kernel !== 'native') fail(`the installed package's kernel is '${kernel}', and PGCLOAK_REQUIRE_NATIVE=1`);
// The round trips call the bin npx just ran: npx itself costs seconds a call.
const npx = [join(project, 'node_modules', '.bin', 'pgcloak')];
const nativeMasked = roundTrip(npx, installed, 'local-native', cleanEnv(), project);
step(`npx pgcloak --version: ${version}; import 'pgcloak': ${api.length} exports; round trip with the '${kernel}' kernel`);

const offEnv = cleanEnv({ PGCLOAK_NATIVE: '0' });
const off = kernelOf(installed, project, offEnv);
if (off !== 'off (PGCLOAK_NATIVE=0)') fail(`with PGCLOAK_NATIVE=0 the kernel is '${off}'`);
const jsMasked = roundTrip(npx, installed, 'local-js', offEnv, project);
if (!jsMasked.equals(nativeMasked)) fail('the JavaScript kernel masked the sample dump otherwise than the native one');
step(`round trip with PGCLOAK_NATIVE=0 ('${off}'): the same masked bytes`);

// --- 3. installed globally, the native build failing ---------------------------------------

const prefix = join(work, 'global');
step('npm install -g into a temporary prefix, with CC=false so that the native build fails');
run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: work, env: cleanEnv({ CC: 'false', CXX: 'false' }) });
const globalBin = join(prefix, 'bin', 'pgcloak');
const globalInstalled = join(prefix, 'lib', 'node_modules', 'pgcloak');
const globalVersion = run(globalBin, ['--version'], { cwd: work, env: cleanEnv() }).trim();
if (globalVersion !== pkg.version) fail(`${relative(work, globalBin)} --version printed ${JSON.stringify(globalVersion)}`);
const fallback = kernelOf(globalInstalled, work, cleanEnv());
if (fallback !== 'not built') fail(`the global install with CC=false has the kernel '${fallback}', expected 'not built'`);
const globalMasked = roundTrip([globalBin], globalInstalled, 'global-fallback', cleanEnv(), work);
if (!globalMasked.equals(nativeMasked)) fail('the global install masked the sample dump otherwise than the local one');
step(`global pgcloak --version: ${globalVersion}; kernel '${fallback}'; round trip, the same masked bytes`);

const seconds = ((Date.now() - started) / 1000).toFixed(0);
rmSync(work, { recursive: true, force: true });
process.stdout.write(`pack-check: passed in ${seconds} s\n`);
