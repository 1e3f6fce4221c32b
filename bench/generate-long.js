#!/usr/bin/env node
// A deterministic plain dump whose ir_attachment holds, between small documents, one of
// `--value` bytes (or `--count` of them, one after another): its bytea in hex (`\\x...` in
// COPY text, `'\x...'` in an INSERT), as ir_attachment.db_datas holds scanned documents. For
// the long-lines bench and test/large.
//   node bench/generate-long.js --value 200MB --output bench/data/long.sql [--inserts] [--count 1]
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { flag, option } from './options.js';
import { parseSize } from './size.js';
import { random } from './random.js';

const valueBytes = parseSize(option('value', '200MB'));
const output = option('output', 'bench/data/long.sql');
const inserts = flag('inserts');
const count = Number(option('count', '1'));
if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a whole number, got ${option('count')}`);

const { rand } = random(0x51ed270b);
const hexDigits = '0123456789abcdef';
// A MiB of random hex, repeated: the long value's digits.
const block = Buffer.from(Array.from({ length: 1 << 20 }, () => hexDigits[Math.floor(rand() * 16)]).join(''));
mkdirSync(dirname(output), { recursive: true });
const fd = openSync(output, 'w');
const put = (s) => writeSync(fd, s);
/** `\x` and an even number of digits: `valueBytes` bytes in all. */
const longValue = () => {
  put('\\x');
  for (let left = (valueBytes - 2) & ~1; left > 0; left -= block.length) writeSync(fd, block, 0, Math.min(left, block.length));
};
const small = (id) => ({ id, name: `doc${id}.pdf`, datas: `\\x${block.subarray(id * 64, id * 64 + 64).toString()}` });

put(`--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\n`);
put('CREATE TABLE public.ir_attachment (\n    id integer NOT NULL,\n    name character varying NOT NULL,\n    db_datas bytea\n);\n\n');
put('CREATE TABLE public.res_partner (\n    id integer NOT NULL,\n    name character varying\n);\n\n');
if (inserts) {
  const values = (r) => `(${r.id}, '${r.name}', '${r.datas}')`;
  for (let id = 1; id <= 100; id++) put(`INSERT INTO public.ir_attachment VALUES ${values(small(id))};\n`);
  for (let n = 0; n < count; n++) {
    put(`INSERT INTO public.ir_attachment VALUES (${1001 + n}, 'scan${n}.pdf', '`);
    longValue();
    put("');\n");
  }
  for (let id = 102; id <= 200; id++) put(`INSERT INTO public.ir_attachment VALUES ${values(small(id))};\n`);
  put("INSERT INTO public.res_partner VALUES (1, 'x');\n\n");
} else {
  // In COPY text a bytea's backslash is doubled.
  const row = (r) => `${r.id}\t${r.name}\t\\${r.datas}\n`;
  put('COPY public.ir_attachment (id, name, db_datas) FROM stdin;\n');
  for (let id = 1; id <= 100; id++) put(row(small(id)));
  for (let n = 0; n < count; n++) {
    put(`${1001 + n}\tscan${n}.pdf\t\\`);
    longValue();
    put('\n');
  }
  for (let id = 102; id <= 200; id++) put(row(small(id)));
  put('\\.\n\n');
}
put('ALTER TABLE ONLY public.ir_attachment ADD CONSTRAINT ir_attachment_pkey PRIMARY KEY (id);\n\n');
put('--\n-- PostgreSQL database dump complete\n--\n\n');
closeSync(fd);
process.stderr.write(`${output}: ${count} value(s) of ${valueBytes} bytes among 200 rows\n`);
