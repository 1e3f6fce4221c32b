import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { strategiesTable } from '../src/strategies/registry.js';
import { EXIT_CODES } from '../src/errors.js';

const readme = readFileSync('README.md', 'utf8');

describe('README', () => {
  it('carries the strategies table generated from the registry', () => {
    expect(readme).toContain(strategiesTable());
  });

  it('documents every exit code the errors map to', () => {
    for (const code of new Set(Object.values(EXIT_CODES))) expect(readme).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });

  it('shows the two set-up commands on its first screen', () => {
    const firstScreen = readme.split('\n').slice(0, 15).join('\n');
    expect(firstScreen).toContain('npm ci && npm run demo');
    expect(firstScreen).toContain('npm ci && npm test');
  });
});
