import { PolicyError } from '../../errors.js';
import { first } from './first.js';
import { leastConnections } from './least-connections.js';
import { maglev } from './maglev.js';
import { powerOfTwo } from './power-of-two.js';
import { random } from './random.js';
import { roundRobin } from './round-robin.js';
import { sourceHash } from './source-hash.js';
import type { PolicyFactory } from './types.js';

/** The built-in policies by their config name (`pool.<name>.policy`). */
export const builtinPolicies: Readonly<Record<string, PolicyFactory>> = Object.freeze({
  'round-robin': () => roundRobin(),
  random: () => random(),
  'least-connections': () => leastConnections(),
  'power-of-two': () => powerOfTwo(),
  'source-hash': () => sourceHash(),
  maglev: () => maglev(),
  first: () => first(),
});

/** The factory for a policy name, or a PolicyError naming the ones there are. */
export function policyFactory(name: string, policies = builtinPolicies): PolicyFactory {
  // Own names only: "constructor" or "__proto__" must not find Object's members.
  const factory = Object.hasOwn(policies, name) ? policies[name] : undefined;
  if (!factory) {
    throw new PolicyError(`unknown policy "${name}"; available: ${Object.keys(policies).join(', ')}`);
  }
  return factory;
}
