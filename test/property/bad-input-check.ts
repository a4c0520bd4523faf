import { parse as parseToml } from 'smol-toml';
import { expect } from 'vitest';
import { formatKeyPath, parseKeyPath } from '../../src/config/key-path.js';
import type { Config } from '../../src/config/types.js';
import { ConfigError, formatIssue, RxlbError, type ConfigIssue } from '../../src/errors.js';

/**
 * Shared checks of the bad-input property tests (`bad-input-*.spec.ts`): what any error
 * from a parser must look like, whatever the input.
 */

/** Runs `parse`; gives its value or the ConfigError it threw, and rethrows anything else. */
export function configOrError<T>(parse: () => T): T | ConfigError {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

/** As {@link configOrError}, for any of rxlb's own errors. */
export function valueOrRxlbError<T>(parse: () => T): T | RxlbError {
  try {
    return parse();
  } catch (err) {
    if (err instanceof RxlbError) return err;
    throw err;
  }
}

const SYNTAX = 'TOML syntax error: ';
/** The one issue about a file as a whole, which has no key path. */
const UNREADABLE = 'cannot read the config file: ';

/** The 1-based lines of `text` as the TOML parser and the locator count them (split at `\n`). */
export const linesOf = (text: string): string[] => text.split('\n');

/**
 * Every ConfigError names where each problem is:
 * - it has the stable code, at least one issue, and its message is the issues, one line each;
 * - each issue names `file` and says what is wrong on one line;
 * - a TOML syntax error has no key path but a line and column inside `text`;
 * - a file that cannot be read is one issue with neither;
 * - any other issue has a key path, written the way {@link formatKeyPath} writes it;
 * - a line (and column) given is inside `text`.
 */
export function expectLocatedConfigError(err: ConfigError, file: string, text?: string): void {
  expect(err.code).toBe('RXLB_ERR_CONFIG');
  expect(err.name).toBe('ConfigError');
  expect(err.issues.length).toBeGreaterThan(0);
  expect(err.message).toBe(err.issues.map(formatIssue).join('\n'));
  const lines = text === undefined ? undefined : linesOf(text);
  // one expect for all the issues: a file may have thousands
  expect(err.issues.flatMap((issue) => unlocated(issue, file, lines))).toEqual([]);
}

/** What is wrong with where an issue says it is, each as `issue: problem`; empty when nothing. */
function unlocated(issue: ConfigIssue, file: string, lines: readonly string[] | undefined): string[] {
  const wrong: string[] = [];
  const check = (ok: boolean, problem: string): void => {
    if (!ok) wrong.push(`${formatIssue(issue)}: ${problem}`);
  };
  check(issue.file === file, `names ${JSON.stringify(issue.file)}, not ${JSON.stringify(file)}`);
  check(issue.message !== '', 'says nothing');
  check(!/[\r\n]/.test(issue.message), 'takes more than one line');
  if (issue.message.startsWith(SYNTAX)) {
    check(issue.path === '', 'a syntax error with a key path');
    check(issue.line !== undefined && issue.column !== undefined, 'a syntax error without line and column');
  } else if (issue.message.startsWith(UNREADABLE)) {
    check(issue.path === '' && issue.line === undefined, 'an unreadable file with a key path or line');
  } else {
    check(issue.path !== '', 'no key path');
    check(formatKeyPath(parseKeyPath(issue.path)) === issue.path, 'a key path that does not read back the same');
  }
  if (lines === undefined || issue.line === undefined) return wrong;
  const line = lines[issue.line - 1];
  check(Number.isInteger(issue.line) && line !== undefined, `line ${issue.line} is not in the text (${lines.length} lines)`);
  if (issue.column !== undefined && line !== undefined) {
    check(Number.isInteger(issue.column) && issue.column >= 1 && issue.column <= line.length + 1, `column ${issue.column} is not in the line`);
  }
  return wrong;
}

/**
 * The top-level keys of a TOML text as the TOML parser reads them, or undefined when
 * it does not parse: an issue whose path starts with one of them is about a key
 * written in the file, so it must have a line.
 */
export function topLevelKeys(text: string): string[] | undefined {
  try {
    return Object.keys(parseToml(text.startsWith('\uFEFF') ? text.slice(1) : text));
  } catch {
    return undefined;
  }
}

/** Each issue about a key the file writes at its top level has a line. */
export function expectWrittenKeysLocated(err: ConfigError, text: string): void {
  const keys = topLevelKeys(text);
  if (keys === undefined) return;
  const written = new Set(keys);
  const unplaced = err.issues.filter((issue) => {
    const [first] = parseKeyPath(issue.path);
    return typeof first === 'string' && written.has(first) && issue.line === undefined;
  });
  expect(unplaced.map(formatIssue), 'issues about keys written in the file, without a line').toEqual([]);
}

/** Whether a value and everything in it is frozen, as every Config must be. */
export function deeplyFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen);
}

/** The checks on a parse outcome: a frozen Config, or a located ConfigError. */
export function expectConfigOrLocatedError(outcome: Config | ConfigError, file: string, text?: string): void {
  if (outcome instanceof ConfigError) {
    expectLocatedConfigError(outcome, file, text);
    if (text !== undefined) expectWrittenKeysLocated(outcome, text);
  } else {
    expect(deeplyFrozen(outcome)).toBe(true);
    expect(outcome.source).toBe(file);
  }
}
