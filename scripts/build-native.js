#!/usr/bin/env node
// `npm install` / `npm ci`: builds the native COPY kernel (native/copy_kernel.c) with
// node-gyp, which npm brings. It is optional: without a C compiler, or when the build
// fails, pgcloak masks with its JavaScript kernel (same bytes, slower) and this says so.
// PGCLOAK_REQUIRE_NATIVE=1 makes a failed build fail the install (CI does that).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.PGCLOAK_REQUIRE_NATIVE === '1';

/** npm names its node-gyp in npm_config_node_gyp when it runs a package's scripts; else npm's own copy beside node. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const npmDirs = [
      process.env.npm_execpath ? join(dirname(process.env.npm_execpath), '..') : undefined,
      join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm'),
    ];
    return npmDirs.map((d) => d && join(d, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')).find((p) => p && existsSync(p));
  }
}

const gyp = nodeGyp();
let reason;
if (!gyp) {
  reason = 'node-gyp not found';
} else {
  // Outside npm nothing says where node's headers are: node's own, when they are installed beside it.
  const prefix = join(dirname(process.execPath), '..');
  const nodedir = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  const run = spawnSync(process.execPath, [gyp, 'rebuild', '--release', ...nodedir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (run.status !== 0) reason = `node-gyp failed: ${(run.stderr ?? '').split('\n').filter((l) => /error/i.test(l)).slice(0, 3).join(' | ') || `exit ${run.status}`}`;
}
if (reason) {
  process.stderr.write(`pgcloak: the native COPY kernel was not built (${reason}); masking uses the JavaScript kernel: same output, slower.\n`);
  process.exit(required ? 1 : 0);
}
