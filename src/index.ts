/**
 * rxlb as a library: the routing policies are RxJS operators you can import, compose
 * and test with marbles, and the stream graph is built from the same parts the CLI uses.
 */
export * from './operators/index.js';
export { createBalancer, type Balancer, type BalancerDeps, type BalancerEvent, type BalancerSources } from './streams/balancer.js';
export { connection$, type ConnectionContext } from './streams/tcp/connection.js';
export { createRouter, PENDING, type Answer, type PolicyFailure, type Router, type RouterOptions } from './streams/routing/router.js';
export { throttleByKey, type Counted } from './operators/throttle-by-key.js';
export { inOrder } from './operators/in-order.js';
export { perKey } from './operators/per-key.js';
export { foldState, type StateStep } from './streams/state/fold.js';
export { eligible, type Eligibility } from './streams/routing/eligible.js';
export { health$, backendHealth$, countCheck, countChecks, type CheckCounts, type HealthDeps } from './streams/health/checks.js';
export { healthTargets, type HealthTarget } from './streams/health/targets.js';
export { passive$, reducePassive, ejectionMs, maxEjected, type PassiveEvent } from './streams/health/passive.js';
export {
  deriveStatus,
  initialState,
  reduceBackendState,
  type BackendState,
  type BackendStatus,
  type BalancerState,
  type ListenerState,
  type PoolState,
} from './streams/state/backend-state.js';
export type * from './streams/state/events.js';
export type * from './streams/ports.js';
export type * from './config/types.js';
export * from './errors.js';
export { tcpIo } from './io/tcp.js';
export { udpIo } from './io/udp.js';
export { udpListener$, type UdpListenerContext, type UdpListenerEvent } from './streams/udp/listener.js';
export {
  emptySessionTable,
  reduceSessions,
  sweepIntervalMs,
  type Session,
  type SessionEffect,
  type SessionInput,
  type SessionSettings,
  type SessionStep,
  type SessionTable,
} from './streams/udp/sessions.js';
export type * from './streams/udp/events.js';
export { healthProbe$ } from './io/health-probe.js';
export { type Arrival, type Door, type DoorIo, type DoorRefusal, arrivalOf } from './streams/door/arrival.js';
export { type DoorStage, createDoors } from './streams/door/door.js';
export { accessList } from './streams/door/access-list.js';
export { clientRate } from './streams/door/client-rate.js';
export { clientHello, HELLO_READ_LIMIT } from './streams/door/client-hello.js';
export { clientCount } from './streams/door/client-count.js';
export { route } from './streams/door/route.js';
export { addressList } from './streams/door/cidr.js';
export { serverNames } from './streams/door/server-names.js';
export { rateState, MAX_TRACKED_CLIENTS, type RateState } from './streams/door/rate.js';
export type { ClientCounts } from './streams/door/client-counts.js';
export { ClientHelloReader, type ClientHelloResult } from './wire/client-hello.js';
export { loadConfigFile } from './config/load.js';
export { resolveConfig } from './config/resolve.js';
