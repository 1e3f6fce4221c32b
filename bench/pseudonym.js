#!/usr/bin/env node
// Micro-bench of the pseudonym strategy alone (dist/strategies/pseudonym.js): values per second
// for each kind of shape, next to a baseline that only copies each value, with the heap, the
// small-domain cache and the process's peak RSS after each case. Values are generated
// (bench/random.js), counted before timing; the last cases run values of many small shapes that
// share a table, and values of more domains than the small-domain cache holds tables for: what
// the cache costs in time, and that its memory stays bounded. --before DIR times another build's dist/ too (e.g. the commit before a
// change, built elsewhere), in alternate rounds, so a busy machine slows both alike.
//   npm run build && node bench/pseudonym.js [--values 200000] [--repeat 3] [--before /tmp/old/dist]
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { option } from './options.js';
import { random } from './random.js';

const pseudonym = await import('../dist/strategies/pseudonym.js');
const smallDomain = await import('../dist/strategies/small-domain.js').catch(() => undefined);
const beforeDir = option('before', '');
const before = beforeDir ? await import(pathToFileURL(resolve(beforeDir, 'strategies/pseudonym.js')).href) : undefined;
const values = Number(option('values', '200000'));
const repeat = Number(option('repeat', '3'));
const secret = Buffer.alloc(32, 7);
const { rand, pick } = random(21);

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const word = (n) => Array.from({ length: n }, () => pick([...LOWER])).join('');
const digits = (n) => Array.from({ length: n }, () => pick([...DIGITS])).join('');
const MARKS = [...'!"#$%&\'()*+,-./:;<=>?@[]^_`{|}~ §¶•–—…©®']; // 40
const FIRST = ['Alice', 'Bob', 'Zoë', 'José', 'Ève-Marie', 'Жанна', 'Chen', "O'Brien"];

const cases = [
  ['e-mail (large domain)', () => `${word(3 + Math.floor(rand() * 8))}@${word(5 + Math.floor(rand() * 6))}.${pick(['com', 'org', 'fr'])}`],
  ['name, some non-ASCII (large)', () => `${pick(FIRST)} ${word(4 + Math.floor(rand() * 6))}`],
  ['phone (large)', () => `+33 6 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`],
  ['1 letter or digit (small)', () => (rand() < 0.5 ? pick([...LOWER]) : pick([...DIGITS]))],
  ['2 digits (small)', () => digits(2)],
  ['4 letters (small, 456 976)', () => word(4)],
  ['5 digits (small, 100 000)', () => digits(5)],
  // 4 letters around one of 40 marks at one of 5 places: 200 shapes of one pattern of letters.
  ['4 letters, 200 shapes (one table)', () => {
    const w = word(4);
    const at = Math.floor(rand() * 5);
    return `${w.slice(0, at)}${pick(MARKS)}${w.slice(at)}`;
  }],
  // 4 letters in one of 24 domains, at random: 24 tables of 456 976 values, 44 MB, over the
  // cache's 32 MiB, so about a third of the values wait for a table to be made again. Fewer
  // values (the build before has no domains: one table for all).
  ['4 letters, 24 domains (cache misses)', () => word(4), () => ({ domain: `d${Math.floor(rand() * 24)}` }), 3000],
];

function peakRssMB() {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Math.round(Number(hwm[1]) / 1024) : NaN;
}

function time(list, f) {
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < list.length; i++) bytes += f(list[i], i).length;
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, bytes };
}

console.log(`pseudonym micro-bench: ${values} values a case (unless the case says), ${repeat} rounds (median), Node ${process.version}, ${cpus()[0]?.model ?? '?'}`);
console.log(`| case | values/s | µs/value |${before ? ' before: values/s | × before |' : ''} baseline values/s | heap MB | cache MB | peak RSS MB |`);
console.log(`|---|---:|---:|${before ? '---:|---:|' : ''}---:|---:|---:|---:|`);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const [name, make, options = () => undefined, count = values] of cases) {
  const list = Array.from({ length: count }, make);
  const opts = list.map((_, i) => options(i));
  if (list.length !== count) throw new Error('value count');
  const now = [];
  const then = [];
  const base = [];
  for (let r = 0; r < repeat; r++) {
    base.push(time(list, (v) => `${v}`).seconds);
    if (before) then.push(time(list, (v, i) => before.pseudonymText(v, secret, opts[i])).seconds);
    now.push(time(list, (v, i) => pseudonym.pseudonymText(v, secret, opts[i])).seconds);
  }
  const s = median(now);
  const heap = Math.round(process.memoryUsage().heapUsed / 1048576);
  const cache = smallDomain ? (smallDomain.shuffleCacheBytes() / 1048576).toFixed(1) : '—';
  const vs = before ? ` ${Math.round(count / median(then))} | ${(median(then) / s).toFixed(2)} |` : '';
  console.log(`| ${name} | ${Math.round(count / s)} | ${((s / count) * 1e6).toFixed(2)} |${vs} ${Math.round(count / median(base))} | ${heap} | ${cache} | ${peakRssMB()} |`);
}
