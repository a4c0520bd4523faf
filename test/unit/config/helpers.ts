import { parseConfigText } from '../../../src/config/load.js';
import type { Config, Endpoint } from '../../../src/config/types.js';
import { ConfigError, formatIssue, type ConfigIssue } from '../../../src/errors.js';

/** The ConfigError a call throws; fails the test when it throws nothing or something else. */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

/** The issues of a config text, as `formatIssue` prints them. */
export function problems(text: string, options: { listen?: Endpoint } = {}): string[] {
  return configError(() => parseConfigText(text, 'rxlb.toml', options)).issues.map(formatIssue);
}

export function issues(text: string): readonly ConfigIssue[] {
  return configError(() => parseConfigText(text, 'rxlb.toml')).issues;
}

export const parse = (text: string, options: { listen?: Endpoint } = {}): Config => parseConfigText(text, 'rxlb.toml', options);

/** Whether a value and everything in it is frozen. */
export function deeplyFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen);
}

/** The door settings of a listener that sets none of them: what every seed layout and quick mode get. */
export const NO_DOOR = {
  prereadTimeoutMs: 5_000,
  proxyProtocol: undefined,
  proxyTrusted: undefined,
  allow: undefined,
  deny: undefined,
  maxConnectionsPerClient: 0,
  connectionRatePerClient: undefined,
  routes: [],
  needsClientHello: false,
} as const;
