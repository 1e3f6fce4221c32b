// Columns that look personal by what they hold: a sample of each text-like column's values
// (the first rows of its table) checked for e-mail addresses, IBANs, phone numbers and IP
// addresses. Only counts are kept, never a value.
//   e-mail, IBAN  a value that contains one counts (a note with an e-mail in it is personal);
//                 one such value in the sample flags the column. IBANs must pass their mod-97 check.
//   phone, IP     the whole value must be one, in at least half of the non-empty values
//                 sampled: digits and dots are everywhere (amounts, versions, dates).

import { isIP } from 'node:net';
import type { PiiFlag } from './pii-names.js';

/** Only the start of a long value is looked at. */
const MAX_CHARS = 64 * 1024;

// Bounded repetitions keep the regex linear on long text without spaces.
const EMAIL = /[\w.%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![\w-])/;
const IBAN = /\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b/g;
const PHONE_CHARS = /^(?:\+ ?|00)?\(?[0-9][0-9 ().\/-]{5,23}(?:\s*(?:x|ext\.?)\s*[0-9]{1,5})?$/i;
const DATE_LIKE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/;

export function containsEmail(value: string): boolean {
  return value.includes('@') && EMAIL.test(value);
}

function ibanValid(candidate: string): boolean {
  const iban = candidate.replace(/ /g, '');
  if (iban.length < 15 || iban.length > 34) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const digits = code >= 65 ? String(code - 55) : ch; // A = 10 … Z = 35
    for (const d of digits) remainder = (remainder * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

export function containsIban(value: string): boolean {
  IBAN.lastIndex = 0;
  for (let m = IBAN.exec(value); m !== null; m = IBAN.exec(value)) {
    if (ibanValid(m[0])) return true;
  }
  return false;
}

export function isPhoneNumber(value: string): boolean {
  const v = value.trim();
  if (!PHONE_CHARS.test(v) || DATE_LIKE.test(v)) return false;
  const digits = v.replace(/\D/g, '').length;
  if (digits < 7 || digits > 15) return false;
  const groups = v.split(/[ ().\/-]+/).filter((g) => g !== '').length;
  // A lone dot between two digit runs is a decimal number; a leading + / 00 / 0 or a
  // space, dash, parenthesis or slash make it a phone number.
  return v.startsWith('+') || v.startsWith('0') || v.startsWith('(') || /[ ()\/-]/.test(v) || groups >= 3;
}

export function isIpAddress(value: string): boolean {
  const v = value.trim();
  return v.length >= 7 && isIP(v) !== 0;
}

export class ContentSample {
  values = 0;
  emails = 0;
  ibans = 0;
  phones = 0;
  ips = 0;

  observe(raw: string): void {
    const value = raw.length > MAX_CHARS ? raw.slice(0, MAX_CHARS) : raw;
    if (value.trim() === '') return;
    this.values++;
    if (containsEmail(value)) this.emails++;
    if (containsIban(value)) this.ibans++;
    if (value.length <= 40) {
      if (isPhoneNumber(value)) this.phones++;
      if (isIpAddress(value)) this.ips++;
    }
  }

  flags(): PiiFlag[] {
    const out: PiiFlag[] = [];
    const of = (n: number): string => `${n} of ${this.values} sampled value(s)`;
    if (this.emails > 0) out.push({ source: 'content', category: 'e-mail', why: `content: ${of(this.emails)} contain an e-mail address` });
    if (this.ibans > 0) out.push({ source: 'content', category: 'bank account', why: `content: ${of(this.ibans)} contain an IBAN` });
    if (this.values > 0 && this.phones * 2 >= this.values) out.push({ source: 'content', category: 'phone', why: `content: ${of(this.phones)} are phone numbers` });
    if (this.values > 0 && this.ips * 2 >= this.values) out.push({ source: 'content', category: 'ip address', why: `content: ${of(this.ips)} are IP addresses` });
    return out;
  }
}
