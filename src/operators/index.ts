export type { Candidate, ClientAddress, Policy, PolicyFactory, RouteRequest, Routed } from './types.js';
export { roundRobin } from './round-robin.js';
export { random, pickWeighted, type Rng } from './random.js';
export { leastConnections, leastLoaded } from './least-connections.js';
export { builtinPolicies, policyFactory } from './registry.js';
