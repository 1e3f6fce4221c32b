// Text placeholders must fit varchar(n)/char(n), which count characters, not bytes.

/** Length in characters (code points), as PostgreSQL counts for varchar(n) in UTF-8. */
export function textLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) i++; // a surrogate pair is one character
    n++;
  }
  return n;
}

function lastChars(s: string, n: number): string {
  return Array.from(s).slice(-n).join('');
}

/**
 * `xxx` + key, fitted to `max` characters: the `xxx` prefix shrinks first so the key
 * (unique per row) survives; only a key longer than the limit itself is cut, keeping
 * its last characters. `cut` reports that case, where values may repeat.
 */
export function fitPlaceholderText(key: string, max: number | undefined, cut?: () => void): string {
  const full = `xxx${key}`;
  if (max === undefined) return full;
  const keyLength = textLength(key);
  if (keyLength + 3 <= max) return full;
  if (keyLength <= max) return 'xxx'.slice(0, max - keyLength) + key;
  cut?.();
  return lastChars(key, max);
}
