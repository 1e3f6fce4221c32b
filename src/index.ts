// The library API: what the CLI uses, for programs that mask and unmask dumps themselves.
export { maskDump } from './mask/run.js';
export type { MaskOptions, MaskResult } from './mask/run.js';
export { unmaskDump } from './unmask/run.js';
export type { UnmaskOptions } from './unmask/run.js';
export type { VaultTarget } from './engine/run-options.js';
export type { RunSummary, TableStats } from './engine/dump-processor.js';
export { parseRules } from './rules/rules-file.js';
export type { RuleSet, TableRule, ColumnRule } from './rules/rules-file.js';
export { STRATEGIES, strategiesTable } from './strategies/registry.js';
export type { StrategyDefinition, ValueMask } from './strategies/strategy.js';
export { generateKeyFile, generateKeyPair, readKeyFile, readPublicKeyFile, readSecretKeyFile, readSigningKey, readVerifyKeyFile } from './vault/key.js';
export type { SigningKey } from './vault/signature.js';
export type { KeySource } from './vault/key.js';
export { readVaultInfo } from './vault/reader.js';
export { PgcloakError, EXIT_CODES } from './errors.js';
export type { ErrorCode, Position } from './errors.js';
export { VERSION } from './version.js';
