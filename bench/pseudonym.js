#!/usr/bin/env node
// Micro-bench of the pseudonym strategy alone (dist/strategies/pseudonym.js): values per second
// for each kind of shape, next to a baseline that only copies each value, with the heap and the
// process's peak RSS after each case. Values are generated (bench/random.js), counted before
// timing; the last case runs values of many small shapes that each need a table of their own,
// to show what the small-domain cache costs in time and that its memory stays bounded.
//   npm run build && node bench/pseudonym.js [--values 200000] [--repeat 3]
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { option } from './options.js';
import { random } from './random.js';

const pseudonym = await import('../dist/strategies/pseudonym.js');
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
  // 4 letters around one of 40 marks at one of 5 places: 200 shapes of 456 976 values each.
  ['200 shapes of 456 976 (cache)', () => {
    const w = word(4);
    const at = Math.floor(rand() * 5);
    return `${w.slice(0, at)}${pick(MARKS)}${w.slice(at)}`;
  }],
];

function peakRssMB() {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Math.round(Number(hwm[1]) / 1024) : NaN;
}

function time(list, f) {
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (const v of list) bytes += f(v).length;
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, bytes };
}

console.log(`pseudonym micro-bench: ${values} values a case, ${repeat} rounds (median), Node ${process.version}, ${cpus()[0]?.model ?? '?'}`);
console.log('| case | values/s | µs/value | baseline values/s | heap MB | peak RSS MB |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, make] of cases) {
  const list = Array.from({ length: values }, make);
  if (list.length !== values) throw new Error('value count');
  const rounds = [];
  const base = [];
  for (let r = 0; r < repeat; r++) {
    base.push(time(list, (v) => `${v}`).seconds);
    rounds.push(time(list, (v) => pseudonym.pseudonymText(v, secret)).seconds);
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const s = median(rounds);
  const heap = Math.round(process.memoryUsage().heapUsed / 1048576);
  console.log(`| ${name} | ${Math.round(values / s)} | ${((s / values) * 1e6).toFixed(2)} | ${Math.round(values / median(base))} | ${heap} | ${peakRssMB()} |`);
}
