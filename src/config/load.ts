import { readFile } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import { ConfigError } from '../errors.js';
import { syntaxProblem } from './toml-syntax.js';
import type { Config } from './types.js';
import { validateConfig, type ValidateOptions } from './validate.js';

/**
 * Parses and validates TOML config text; `file` names it in every issue and is the base
 * for relative policy module paths. Synchronous and pure. A TOML syntax error gives a
 * ConfigError with one issue at smol-toml's line and column; any other mistakes give one
 * ConfigError listing them all.
 */
export function parseConfigText(text: string, file: string, options: ValidateOptions = {}): Config {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let doc: unknown;
  try {
    doc = parse(source);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    throw new ConfigError([{ file, path: '', ...syntaxProblem(err, source) }], { cause: err });
  }
  return validateConfig(doc, file, source, options);
}

/** Reads and validates a config file; an unreadable file is a ConfigError naming it and why. */
export async function loadConfigFile(file: string, options: ValidateOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, path: '', message: `cannot read the config file: ${reason(err)}` }], { cause: err });
  }
  return parseConfigText(text, file, options);
}

/** `no such file or directory (ENOENT)` from Node's `ENOENT: no such file or directory, open 'x'`. */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const match = code === undefined ? null : new RegExp(`^${code}: ([^,]+)`).exec(err.message);
  return match?.[1] !== undefined && code !== undefined ? `${match[1]} (${code})` : err.message;
}
