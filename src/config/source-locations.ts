import type { Locator } from './locate.js';
import type { Config } from './types.js';

/**
 * The locator of the source each validated config came from, so that a later step
 * (hostname resolution) can still give line numbers. Weak: it holds no config alive.
 */
const locators = new WeakMap<Config, Locator>();

export function rememberLocator(config: Config, locate: Locator): void {
  locators.set(config, locate);
}

export function locatorOf(config: Config): Locator | undefined {
  return locators.get(config);
}
