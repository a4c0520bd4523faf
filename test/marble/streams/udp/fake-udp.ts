import { NEVER, type Observable } from 'rxjs';
import { vi } from 'vitest';
import { parseEndpoint } from '../../../../src/config/endpoint.js';
import type { Config, Endpoint, ListenerConfig } from '../../../../src/config/types.js';
import type { ClientAddress, PolicyFactory } from '../../../../src/operators/policies/types.js';
import { type BalancerEvent, type ConfigProposal, createBalancer } from '../../../../src/streams/balancer.js';
import type { UdpIo, UdpListenEvent, UdpUpstreamEvent } from '../../../../src/streams/ports.js';
import type { BalancerState } from '../../../../src/streams/state/backend-state.js';
import { type FakeSocket, fakeIo } from '../../fixtures.js';

export const LISTEN: FakeSocket = { id: 'listen' };
export const c1: ClientAddress = { address: '192.0.2.1', port: 1111 };
export const c2: ClientAddress = { address: '192.0.2.2', port: 2222 };
export const c3: ClientAddress = { address: '192.0.2.3', port: 3333 };
export const text = (data: Uint8Array): string => Buffer.from(data).toString();

export const listening = (cfg: Config, address = '127.0.0.1:5353'): UdpListenEvent<FakeSocket> => {
  const { host, port } = parseEndpoint(address);
  return { type: 'listening', listener: cfg.listeners[0]!, address, socket: LISTEN, local: { address: host, port } };
};
export const datagram = (client: ClientAddress, data: string): UdpListenEvent<FakeSocket> => ({ type: 'datagram', client, data: Buffer.from(data) });

/**
 * Fake UDP edges: `listen` answers every bind, or each by its listener; `upstream`
 * answers by backend address; sends are recorded.
 */
export function fakeUdp(
  listen: Observable<UdpListenEvent<FakeSocket>> | ((l: ListenerConfig) => Observable<UdpListenEvent<FakeSocket>>),
  upstream: (address: string) => Observable<UdpUpstreamEvent<FakeSocket>>,
) {
  const io = {
    listen$: vi.fn((l: ListenerConfig) => (typeof listen === 'function' ? listen(l) : listen)),
    reply: vi.fn<(socket: FakeSocket, client: ClientAddress, data: Uint8Array) => void>(),
    upstream$: vi.fn((target: Endpoint) => upstream(`${target.host}:${target.port}`)),
    forward: vi.fn<(upstream: FakeSocket, data: Uint8Array, header?: Uint8Array) => void>(),
  };
  return io satisfies UdpIo<FakeSocket, FakeSocket>;
}

/** An upstream that is ready at once and answers after `after` frames with a datagram naming the backend. */
export function echoing(cold: (marbles: string, values: Record<string, UdpUpstreamEvent<FakeSocket>>) => Observable<UdpUpstreamEvent<FakeSocket>>, after = 4) {
  return (address: string) => cold(`r ${after}ms e`, { r: { type: 'ready', socket: { id: `up:${address}` } }, e: { type: 'reply', data: Buffer.from(`from ${address}`) } });
}

/**
 * Runs a balancer over the fake edges (no TCP traffic): every event as text by
 * `describe`, with the frame it came at; every state.
 */
export function runUdp(
  config$: Observable<ConfigProposal>,
  udp: ReturnType<typeof fakeUdp>,
  stop$: Observable<unknown>,
  now: () => number,
  describe: (at: number, e: BalancerEvent) => string,
  policies?: Readonly<Record<string, PolicyFactory>>,
) {
  const tcp = { ...fakeIo({ connect: () => NEVER }), listen$: () => NEVER };
  const balancer = createBalancer({ config$, stop$ }, { io: tcp, udp, now, ...(policies ? { policies } : {}) });
  const events: string[] = [];
  const states: BalancerState[] = [];
  balancer.state$.subscribe((s) => states.push(s));
  balancer.events$.subscribe({ next: (e) => events.push(describe(now(), e)), complete: () => events.push(`${now()} done`) });
  return { events, states };
}
