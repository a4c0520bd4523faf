/**
 * rxlb as a library: the routing policies are RxJS operators you can import, compose
 * and test with marbles, and the stream graph is built from the same parts the CLI uses.
 */
export * from './operators/index.js';
export { createBalancer, type Balancer, type BalancerDeps, type BalancerEvent, type BalancerSources } from './streams/balancer.js';
export { connection$, type ConnectionContext } from './streams/connection.js';
export { createRouter, type Route } from './streams/router.js';
export { eligible, type Eligibility } from './streams/eligible.js';
export {
  initialState,
  reduceBackendState,
  type BackendState,
  type BackendStatus,
  type BalancerState,
  type ListenerState,
  type PoolState,
} from './streams/state.js';
export type * from './streams/events.js';
export type * from './streams/ports.js';
export type * from './config/types.js';
export * from './errors.js';
export { tcpIo } from './io/tcp.js';
