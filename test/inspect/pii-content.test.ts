// Content detectors: e-mails and IBANs inside text, phones and IPs as whole values.
import { describe, expect, it } from 'vitest';
import { ContentSample, containsEmail, containsIban, isIpAddress, isPhoneNumber } from '../../src/inspect/pii-content.js';

describe('content detectors', () => {
  it('finds e-mail addresses inside text', () => {
    expect(containsEmail('write to Mary.Smith@sakilacustomer.org today')).toBe(true);
    expect(containsEmail('{"contact": "o\'neil+tag@mail.example.co.uk"}')).toBe(true);
    expect(containsEmail('user@localhost')).toBe(false);
    expect(containsEmail('50 @ 3.99 each')).toBe(false);
    expect(containsEmail(`${'a'.repeat(100_000)}@`)).toBe(false); // and quickly
  });

  it('finds IBANs that pass their check digits', () => {
    expect(containsIban('pay to DE89 3704 0044 0532 0130 00 please')).toBe(true);
    expect(containsIban('GB82WEST12345698765432')).toBe(true);
    expect(containsIban('GB82WEST12345698765433')).toBe(false);
    expect(containsIban('AB12 not an iban')).toBe(false);
  });

  it('tells phone numbers from dates, amounts and ids', () => {
    for (const p of ['+49 30 1234567', '(171) 555-7788', '030-0074321', '0612345678', '555-1234', '+1 (604) 555-3392 ext 12'])
      expect(isPhoneNumber(p), p).toBe(true);
    for (const n of ['2024-01-15', '15.01.2024', '1234.5678', '42', '14033335568', 'ALFKI', '12:30:00']) expect(isPhoneNumber(n), n).toBe(false);
  });

  it('recognises IP addresses', () => {
    expect(isIpAddress('192.168.1.20')).toBe(true);
    expect(isIpAddress('2001:db8::1')).toBe(true);
    expect(isIpAddress('1.2.3')).toBe(false);
    expect(isIpAddress('999.1.1.1')).toBe(false);
  });

  it('flags a column from counts only', () => {
    const s = new ContentSample();
    for (const v of ['no', 'contact bob@example.com', '', 'x']) s.observe(v);
    expect(s.flags().map((f) => [f.category, f.why])).toEqual([['e-mail', 'content: 1 of 3 sampled value(s) contain an e-mail address']]);
    const phones = new ContentSample();
    for (const v of ['+33 1 23 45 67 89', '030-0074321', 'unknown']) phones.observe(v);
    expect(phones.flags().map((f) => f.category)).toEqual(['phone']);
  });
});
