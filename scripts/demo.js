#!/usr/bin/env node
// `npm run demo`: the main job on the bundled sample ERP dump with the bundled
// OpenERP 6.1 rules — mask it, then unmask it and check the round trip.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'out', 'demo');
const dump = join(root, 'fixtures', 'sample-erp', 'dump.sql');
const rules = join(root, 'rules', 'odoo-6.1.yaml');
const key = join(out, 'erp.key');
const vault = join(out, 'erp.vault');
const masked = join(out, 'erp-masked.sql');
const again = join(out, 'erp-again.sql');
const rel = (p) => relative(process.cwd(), p);

function pgcloak(args) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'pgcloak.js'), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

mkdirSync(out, { recursive: true });
for (const f of [vault, masked, again]) rmSync(f, { force: true });
if (!existsSync(key)) pgcloak(['keygen', '--output', key]);

console.error(`\n$ pgcloak mask --rules ${rel(rules)} --vault ${rel(vault)} --key-file ${rel(key)} < ${rel(dump)} > ${rel(masked)}`);
pgcloak(['mask', '--rules', rules, '--vault', vault, '--key-file', key, '--input', dump, '--output', masked]);

console.error(`\n$ pgcloak unmask --vault ${rel(vault)} --key-file ${rel(key)} < ${rel(masked)} > ${rel(again)}`);
pgcloak(['unmask', '--vault', vault, '--key-file', key, '--input', masked, '--output', again, '--quiet']);

const same = readFileSync(dump).equals(readFileSync(again));
console.error(`\nmasked dump:   ${rel(masked)}   (send this one)`);
console.error(`vault:         ${rel(vault)}   (keep this one, with ${rel(key)})`);
console.error(`unmasked dump: ${rel(again)}   ${same ? 'identical to the original, byte for byte' : 'DIFFERS from the original'}`);
process.exit(same ? 0 : 1);
