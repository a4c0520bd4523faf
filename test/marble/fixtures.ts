import { type Observable, NEVER, map, timer } from 'rxjs';
import { vi } from 'vitest';
import type { BackendConfig, Config, Endpoint, ListenerConfig, OnNoBackend, PoolConfig } from '../../src/config/types.js';
import type { ConnectionIo, SpliceEnd } from '../../src/streams/ports.js';

export function backend(address: string, extra: Partial<BackendConfig> = {}): BackendConfig {
  const [host = '', port = '0'] = address.split(':');
  return { address, host, port: Number(port), origin: address, weight: 1, maxConnections: 0, backup: false, healthPath: undefined, ...extra };
}

export function pool(backends: readonly BackendConfig[], extra: Partial<PoolConfig> = {}): PoolConfig {
  return {
    name: 'web',
    policy: 'round-robin',
    connectTimeoutMs: 3000,
    idleTimeoutMs: 600_000,
    retries: 2,
    onNoBackend: 'close',
    proxyProtocol: undefined,
    health: undefined,
    passive: undefined,
    backends,
    ...extra,
  };
}

export function listener(extra: Partial<ListenerConfig> = {}): ListenerConfig {
  return {
    name: 'front',
    bind: { host: '127.0.0.1', port: 7070 },
    protocol: 'tcp',
    pool: 'web',
    maxConnections: 0,
    sessionTimeoutMs: 60_000,
    maxSessions: 0,
    prereadTimeoutMs: 5_000,
    proxyProtocol: undefined,
    proxyTrusted: undefined,
    allow: undefined,
    deny: undefined,
    maxConnectionsPerClient: 0,
    connectionRatePerClient: undefined,
    routes: [],
    needsClientHello: false,
    ...extra,
  };
}

export function config(pools: readonly PoolConfig[], listeners: readonly ListenerConfig[] = [listener()], maxConnections = 0): Config {
  return {
    source: 'test.toml',
    layout: 'rxlb',
    global: { shutdownGraceMs: 30_000, maxConnections },
    admin: undefined,
    listeners,
    pools,
  };
}

/** A client or upstream socket stand-in: only its identity matters to the streams. */
export interface FakeSocket {
  readonly id: string;
}

/** What the real copy does when nothing moves: end with `idle_timeout` after `idleMs`. */
export const idleSplice = (_client: FakeSocket, _upstream: FakeSocket, idleMs: number): Observable<SpliceEnd> =>
  idleMs > 0 ? timer(idleMs).pipe(map((): SpliceEnd => ({ reason: 'idle_timeout' }))) : NEVER;

/**
 * Fake edges: `connect$` answers from a table of cold observables by backend address;
 * `splice$` by default behaves as a copy that never moves a byte; `clientGone$` by
 * default never fires.
 */
export function fakeIo(options: {
  connect: (address: string) => Observable<FakeSocket>;
  splice?: (client: FakeSocket, upstream: FakeSocket, idleMs: number) => Observable<SpliceEnd>;
  /** When each client goes (a reset) while its connection is set up; default: it never does. */
  gone?: (client: FakeSocket) => Observable<void>;
  /** What each client sends, as the door reads it; default: nothing, ever. */
  preread?: (client: FakeSocket) => Observable<Buffer>;
}) {
  const io = {
    clientGone$: vi.fn(options.gone ?? ((): Observable<void> => NEVER)),
    preread$: vi.fn(options.preread ?? ((): Observable<Buffer> => NEVER)),
    localAddress: (): { address: string; port: number } => ({ address: '127.0.0.1', port: 7070 }),
    connect$: (target: Endpoint) => options.connect(`${target.host}:${target.port}`),
    splice$: vi.fn(options.splice ?? idleSplice),
    transferred: (_client: FakeSocket, upstream: FakeSocket | undefined) => (upstream ? { up: 11, down: 22 } : { up: 0, down: 0 }),
    refuse: vi.fn<(client: FakeSocket, how: OnNoBackend) => void>(),
    release: vi.fn<(client: FakeSocket) => void>(),
  };
  return io satisfies ConnectionIo<FakeSocket, FakeSocket>;
}
