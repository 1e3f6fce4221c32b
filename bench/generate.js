#!/usr/bin/env node
// A deterministic plain dump shaped like an ERP: partners with names, e-mails, phones,
// addresses, long notes (tabs, backslashes, UTF-8) and a jsonb column; invoices and move
// lines with amounts and dates; a large log table no rule touches.
//   node bench/generate.js --size 1GiB --output bench/data/erp-1g.sql [--inserts]
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { flag, option } from './options.js';
import { random } from './random.js';
import { parseSize } from './size.js';


const target = parseSize(option('size', '64MiB'));
const output = option('output', 'bench/data/erp.sql');
const inserts = flag('inserts');

/** A COPY text row as the VALUES list pg_dump --inserts would write (numbers bare, the rest quoted). */
function copyRowToValues(line) {
  return line
    .split('\t')
    .map((f) => {
      if (f === '\\N') return 'NULL';
      if (/^-?\d+(\.\d+)?$/.test(f)) return f;
      const text = f.replace(/\\(.)/g, (_m, c) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? c);
      return `'${text.replaceAll("'", "''")}'`;
    })
    .join(', ');
}

// Deterministic: the same arguments give the same file.
const { rand, pick } = random(0x9e3779b9);
const FIRST = ['Alice', 'Bob', 'Chloé', 'Dmitri', 'Eva', 'François', 'Günter', 'Hélène', 'Ivan', 'Jürgen', 'Kenji', 'Lucía', 'Zoë'];
const LAST = ['Martin', 'Dupont', "O'Brien", 'Müller', 'García', 'Rossi', 'Nakamura', 'van der Berg', 'Smith'];
const STREETS = ['Rue de la Paix', 'Hauptstraße', 'Main Street', 'Calle Mayor', 'Via Roma', 'Kerkstraat'];
const CITIES = ['Paris', 'Berlin', 'Madrid', 'Roma', 'Amsterdam', 'Bruxelles', 'Zürich'];
const WORDS = ['invoice', 'late', 'payment', 'call back', 'VIP', 'discount', 'délai', 'Straße', 'naïve', 'tab\\there', 'back\\\\slash', 'line\\nbreak', '🎉'];
const notes = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const money = () => (rand() * 10000).toFixed(2);
const date = () => `20${10 + Math.floor(rand() * 15)}-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;

mkdirSync(dirname(output), { recursive: true });
const fd = openSync(output, 'w');
let written = 0;
let pending = [];
let pendingBytes = 0;
function out(s) {
  pending.push(s);
  pendingBytes += s.length;
  if (pendingBytes > 1 << 20) flush();
}
function flush() {
  const b = Buffer.from(pending.join(''));
  writeSync(fd, b);
  written += b.length;
  pending = [];
  pendingBytes = 0;
}
const size = () => written + pendingBytes;

out(`--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE TABLE public.res_partner (
    id integer NOT NULL,
    name character varying(128) NOT NULL,
    email character varying(240),
    phone character varying(64),
    street character varying(128),
    city character varying(128),
    zip character varying(24),
    comment text,
    display_name jsonb,
    active boolean
);

CREATE TABLE public.account_invoice (
    id integer NOT NULL,
    partner_id integer,
    number character varying(64),
    date_invoice date,
    amount_untaxed numeric(16,2),
    amount_tax numeric(16,2),
    amount_total numeric(16,2),
    residual numeric(16,2)
);

CREATE TABLE public.account_move_line (
    id integer NOT NULL,
    move_id integer,
    partner_id integer,
    name character varying(256),
    ref character varying(64),
    debit numeric(16,2),
    credit numeric(16,2),
    amount_currency numeric(16,2),
    date date
);

CREATE TABLE public.ir_logging (
    id integer NOT NULL,
    create_date timestamp without time zone,
    level character varying(16),
    message text
);

`);

// Share of the target size per table, in dump order.
const plan = [
  ['res_partner', 0.2, (i) => `${i}\t${pick(FIRST)} ${pick(LAST)}\t${pick(FIRST).toLowerCase()}.${i}@example.com\t+33 1 ${String(i % 100).padStart(2, '0')} ${Math.floor(rand() * 1e6)}\t${Math.floor(rand() * 200)} ${pick(STREETS)}\t${pick(CITIES)}\t${10000 + Math.floor(rand() * 89999)}\t${notes(8 + Math.floor(rand() * 30))}\t{"en_US": "${pick(FIRST)}", "fr_FR": "${pick(FIRST)}"}\tt`, 'id, name, email, phone, street, city, zip, comment, display_name, active'],
  ['account_invoice', 0.15, (i) => `${i}\t${1 + Math.floor(rand() * 1000)}\tINV/${i}\t${date()}\t${money()}\t${money()}\t${money()}\t${money()}`, 'id, partner_id, number, date_invoice, amount_untaxed, amount_tax, amount_total, residual'],
  ['account_move_line', 0.35, (i) => `${i}\t${Math.floor(i / 3)}\t${1 + Math.floor(rand() * 1000)}\t${pick(WORDS)} ${i}\tREF${i}\t${money()}\t${money()}\t${money()}\t${date()}`, 'id, move_id, partner_id, name, ref, debit, credit, amount_currency, date'],
  ['ir_logging', 0.3, (i) => `${i}\t${date()} 12:00:00\tINFO\t${notes(6 + Math.floor(rand() * 20))}`, 'id, create_date, level, message'],
];
let budget = 0;
const counts = {};
for (const [table, share, row, columns] of plan) {
  budget += share * target;
  let i = 0;
  if (inserts) {
    // pg_dump --inserts: one statement per row, values as SQL literals.
    while (size() < budget) out(`INSERT INTO public.${table} VALUES (${copyRowToValues(row(++i))});\n`);
    out('\n');
  } else {
    out(`COPY public.${table} (${columns}) FROM stdin;\n`);
    while (size() < budget) out(`${row(++i)}\n`);
    out('\\.\n\n');
  }
  counts[table] = i;
}
out('--\n-- PostgreSQL database dump complete\n--\n\n');
flush();
closeSync(fd);
process.stderr.write(`${output}: ${written} bytes, rows ${JSON.stringify(counts)}\n`);
