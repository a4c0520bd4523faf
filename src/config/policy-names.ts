import { isAbsolute, resolve } from 'node:path';
import { fail, ok, type Result } from './result.js';
import { suggest } from './suggest.js';

/** The routing policies rxlb has built in, by their config name. */
export const POLICY_NAMES = [
  'round-robin',
  'random',
  'least-connections',
  'power-of-two',
  'source-hash',
  'maglev',
  'first',
] as const;

export type PolicyName = (typeof POLICY_NAMES)[number];

export function isPolicyName(value: string): value is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(value);
}

/** A custom policy module: a path (`./`, `../`, `/`) or a file name ending in `.js` or `.mjs`. */
export function isPolicyModule(value: string): boolean {
  return /^\.{0,2}\//.test(value) || /\.m?js$/.test(value);
}

/**
 * Checks a `policy` value: a built-in name stays as it is; a module path comes back
 * absolute, a relative one resolved against `baseDir` (the config file's directory, or
 * the working directory on the command line). Loading the module is not done here.
 */
export function checkPolicy(value: string, baseDir: string): Result<string> {
  if (isPolicyName(value)) return ok(value);
  if (isPolicyModule(value)) return ok(isAbsolute(value) ? value : resolve(baseDir, value));
  const near = suggest(value, POLICY_NAMES);
  const hint = near === undefined ? '.' : `; did you mean "${near}"?`;
  return fail(
    `unknown policy ${JSON.stringify(value)}${hint} Known policies: ${POLICY_NAMES.join(', ')}, or a module path such as "./my-policy.js"`,
  );
}
