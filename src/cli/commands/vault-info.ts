// `pgcloak vault info`: the history a vault carries (OpenERP's anonymization history):
// when and by which pgcloak it was made, with which rules (their SHA-256, and their text
// with --rules), the tables it holds with their keys, masked columns and row counts, and
// the BLAKE2b digest of the masked output it belongs to, and who signed it. Reading it checks
// the whole vault (and its signature: with --verify, that it is that key's).
// Printed on stdout: it is the command's data. No original value is ever printed.

import type { Argv } from 'yargs';
import { wipeKeySource, type KeySource } from '../../vault/key.js';
import { readVerifyKey, resolveKeySource } from '../keys.js';
import { commandModule, openKeyOptions, verifyOption } from '../shared-options.js';

const infoBuilder = (y: Argv) =>
  y.options({
    vault: { type: 'string', demandOption: true, describe: 'the vault written by mask' },
    ...openKeyOptions,
    ...verifyOption,
    rules: { type: 'boolean', describe: 'print the rules file the vault was made with, too' },
    json: { type: 'boolean', describe: 'print it as one JSON object' },
  });

const infoCommandModule = commandModule(
  'info',
  'print the history a vault carries: when, by which version, with which rules, tables and row counts, the masked dump digest',
  infoBuilder,
  async (a) => {
    const keySource = await resolveKeySource({ keyFile: a['key-file'], passphraseEnv: a['passphrase-env'], recipient: a.recipient, identity: a.identity }, false);
    try {
      const verify = readVerifyKey(a.verify);
      await vaultInfoCommand({ vault: a.vault, keySource, verify, rules: a.rules, json: a.json });
    } finally {
      wipeKeySource(keySource);
    }
  },
);

/** `pgcloak vault <command>`: only `info` so far. */
export const vaultCommandModule = commandModule(
  'vault',
  'look into a vault: pgcloak vault info --vault V --key-file K',
  (y) => y.command(infoCommandModule).demandCommand(1, 'name a vault command: info'),
  () => undefined,
);

export interface VaultInfoArgs {
  vault: string;
  keySource: KeySource;
  /** The Ed25519 public key that must have signed the vault (`--verify`). */
  verify?: Buffer | undefined;
  rules?: boolean | undefined;
  json?: boolean | undefined;
}

interface TableSummary {
  table: string;
  ruleTable: unknown;
  rows: number;
  keyColumns: unknown;
  maskedColumns: unknown;
  strategies: unknown;
  types: unknown;
  encoding: unknown;
}

export async function vaultInfoCommand(args: VaultInfoArgs): Promise<void> {
  const [{ readVaultInfo }, { shownSecretRecord }] = await Promise.all([import('../../vault/reader.js'), import('../../engine/strategy-secret.js')]);
  const info = readVaultInfo(args.vault, args.keySource, args.verify);
  const { rules, ...metadata } = info.metadata;
  // The pseudonym key a run made for itself stays in the vault: shown without it.
  if (metadata['strategySecret'] !== undefined) metadata['strategySecret'] = shownSecretRecord(metadata['strategySecret']);
  const tables: TableSummary[] = info.tables.map((d) => ({
    table: String(d['table']),
    ruleTable: d['ruleTable'],
    rows: info.rowCounts[d.index] ?? 0,
    keyColumns: d['keyColumns'],
    maskedColumns: d['maskedColumns'],
    strategies: d['strategies'],
    types: d['types'],
    encoding: d['encoding'],
  }));
  const totalRows = tables.reduce((n, t) => n + t.rows, 0);
  if (args.json) {
    const out = { vault: args.vault, signature: info.signature ?? null, metadata: args.rules ? { ...metadata, rules } : metadata, trailer: info.trailer, tables, totalRows, statements: info.statements ?? 0 };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const m = info.metadata;
  const t = info.trailer;
  const lines: string[] = [];
  lines.push(`vault ${args.vault}`);
  lines.push(`  made        ${str(m['createdAt'])} by ${str(m['tool'] ?? 'pgcloak')} ${str(m['version'])}${t['finishedAt'] !== undefined ? `, finished ${str(t['finishedAt'])}` : ''}`);
  lines.push(`  input       ${str(m['inputFormat'])}`);
  lines.push(`  rules       SHA-256 ${str(m['rulesDigest'])}${args.rules ? '' : ' (--rules prints them)'}`);
  lines.push(`  masked dump ${str(m['outputDigest'] ?? 'blake2b512')} ${str(t['maskedDigest'])}`);
  lines.push(`  signed      ${signatureLine(info.signature)}`);
  if (typeof t['bytesIn'] === 'number' && typeof t['bytesOut'] === 'number') lines.push(`  bytes       ${t['bytesIn']} in, ${t['bytesOut']} out`);
  const known = new Set(['tool', 'version', 'createdAt', 'inputFormat', 'rulesDigest', 'rules', 'outputDigest']);
  for (const [k, v] of Object.entries(metadata)) if (!known.has(k)) lines.push(`  ${k.padEnd(11)} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  lines.push(`  ${tables.length} table(s), ${totalRows} row(s) of originals`);
  if (info.statements) lines.push(`  ${info.statements} statistics statement(s) of masked columns, kept whole`);
  if (tables.length > 0) {
    const width = Math.max(5, ...tables.map((x) => x.table.length));
    lines.push(`    ${'table'.padEnd(width)}  ${'rows'.padStart(10)}  key  masked columns (strategy)`);
    for (const x of tables) {
      const key = Array.isArray(x.keyColumns) && x.keyColumns.length > 0 ? x.keyColumns.join(', ') : '(position)';
      const cols = Array.isArray(x.maskedColumns)
        ? x.maskedColumns.map((c, i) => `${String(c)} (${Array.isArray(x.strategies) ? String(x.strategies[i]) : '?'})`).join(', ')
        : '?';
      const via = typeof x.ruleTable === 'string' && x.ruleTable !== x.table ? `  [rule of ${x.ruleTable}]` : '';
      lines.push(`    ${x.table.padEnd(width)}  ${String(x.rows).padStart(10)}  ${key}  ${cols}${via}`);
    }
  }
  if (args.rules) {
    lines.push('  rules file:');
    lines.push(...String(rules ?? '').replace(/\n$/, '').split('\n').map((l) => `    ${l}`));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function signatureLine(signature: { signer: string; verified: boolean } | undefined): string {
  if (!signature) return 'no';
  return signature.verified
    ? `by key ${signature.signer} (checked: the --verify key)`
    : `by key ${signature.signer} (the signature holds for the key the vault names; --verify NAME.pub checks it is yours)`;
}

function str(v: unknown): string {
  return v === undefined || v === null ? '?' : String(v);
}
