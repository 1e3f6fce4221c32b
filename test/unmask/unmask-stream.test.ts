// createUnmaskStream: the end of the original is held back until the input proved to be the
// masked dump its vault was made for; every failure is one 'error' with unmaskDump's code.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMaskStream, createUnmaskStream, unmaskDump, PgcloakError } from '../../src/index.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { chunksOf, goldenCase } from '../mask/run-in-memory.js';
import { chunkSource, collector, LARGE_RULES, largeDump, stalled, through } from '../mask/stream-helpers.js';
import { keySource, makeTempDir, randomKey, removeTempDirs } from '../vault/helpers.js';

afterAll(removeTempDirs);

const KEY = randomKey();
const { INPUT, RULES } = goldenCase('types');

async function maskedWithVault(input: Buffer = INPUT, rulesText = RULES): Promise<{ masked: Buffer; vault: { path: string; keySource: ReturnType<typeof keySource> } }> {
  const vault = { path: join(makeTempDir(), 'v.vault'), keySource: keySource(KEY) };
  const { output, failure } = await through(createMaskStream({ rules: parseRules(rulesText), vault }), [input]);
  if (failure) throw failure;
  return { masked: output, vault };
}

describe('createUnmaskStream', () => {
  it("gives the original back, with unmaskDump's summary on 'finish'", async () => {
    const { masked, vault } = await maskedWithVault();
    const unmask = createUnmaskStream({ vault });
    let atFinish: unknown;
    unmask.on('finish', () => (atFinish = unmask.summary));
    const back = await through(unmask, chunksOf(masked, [512, 3]));
    expect(back.output.equals(INPUT)).toBe(true);
    const direct = await unmaskDump({ vault, input: chunkSource([masked]), output: collector().sink });
    expect(atFinish).toEqual(direct);
  });

  it('a masked dump the vault was not made for: one VAULT_MISMATCH, and the output never ends', async () => {
    const { masked, vault } = await maskedWithVault();
    // A byte no rule touches (in a comment): the rows match, the digest does not.
    const changed = Buffer.from(masked.toString().replace('PostgreSQL database dump', 'PostgreSQL database dumq'));
    expect(changed.equals(masked)).toBe(false);
    const unmask = createUnmaskStream({ vault });
    let ended = false;
    unmask.on('end', () => (ended = true));
    const result = await through(unmask, [changed]);
    expect(result.errors.map((e) => (e as PgcloakError).code)).toEqual(['VAULT_MISMATCH']);
    expect(ended).toBe(false);
    expect(unmask.summary).toBeUndefined();
  });

  it('the wrong key: one VAULT_WRONG_KEY', async () => {
    const { masked, vault } = await maskedWithVault();
    const result = await through(createUnmaskStream({ vault: { ...vault, keySource: keySource(randomKey()) } }), [masked]);
    expect(result.errors.map((e) => (e as PgcloakError).code)).toEqual(['VAULT_WRONG_KEY']);
  });

  it("a malformed row mid-stream: one error, with unmaskDump's code and position", async () => {
    const { masked, vault } = await maskedWithVault();
    const broken = Buffer.from(masked.toString().replace(/\n2\t/, '\n2\t\t'));
    expect(broken.equals(masked)).toBe(false);
    const result = await through(createUnmaskStream({ vault }), chunksOf(broken, [64]));
    expect(result.errors).toHaveLength(1);
    const err = result.errors[0] as PgcloakError;
    const direct = await unmaskDump({ vault, input: chunkSource([broken]), output: collector().sink }).then(
      () => undefined,
      (e: unknown) => e as PgcloakError,
    );
    expect(err).toBeInstanceOf(PgcloakError);
    expect(err.code).toBe(direct?.code);
    expect(err.position).toEqual(direct?.position);
    expect(err.position.line).toBeGreaterThan(0);
  });

  it('destroy() early: no error event, and it closes', async () => {
    const { stream: source } = largeDump(50_000);
    const chunks: Buffer[] = [];
    for await (const c of source) chunks.push(c as Buffer);
    const { masked, vault } = await maskedWithVault(Buffer.concat(chunks), LARGE_RULES);
    const unmask = createUnmaskStream({ vault });
    const errors: unknown[] = [];
    unmask.on('error', (e) => errors.push(e));
    unmask.write(masked.subarray(0, 200_000));
    // Nobody reads: the run waits for room for its output.
    await stalled(() => unmask.readableLength, 3);
    unmask.destroy();
    await new Promise((resolve) => unmask.once('close', resolve));
    expect(errors).toEqual([]);
    expect(unmask.summary).toBeUndefined();
  });
});
