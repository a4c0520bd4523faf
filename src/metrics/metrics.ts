import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { type BackendState, type BalancerState, type ListenerState, type PoolState, REJECT_REASONS, type Traffic } from '../streams/state/backend-state.js';

/** The Prometheus text of every metric, with its content type. */
export interface Scrape {
  readonly contentType: string;
  readonly body: string;
}

export interface Metrics {
  readonly registry: Registry;
  scrape(): Promise<Scrape>;
}

type Labels<K extends string> = Partial<Record<K, string | number>>;

/**
 * The metrics of interface.md (and a few more), read from the backend-state stream's
 * latest state at each scrape: prom-client calls each metric's `collect` then, which
 * sets its series from the state. No counter is kept on the side, so `/metrics` and
 * `/status` can never disagree, and a backend that leaves the config (once drained)
 * leaves the metrics.
 *
 * Byte and datagram counters grow when a connection or session ends, as the access
 * log records it; the process metrics are prom-client's defaults.
 */
export function createMetrics(state: () => BalancerState): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  /** A counter or gauge whose series are set afresh from the state at every scrape. */
  const derived = <K extends string>(
    Kind: typeof Counter<K> | typeof Gauge<K>,
    name: string,
    help: string,
    labelNames: readonly K[],
    fill: (set: (labels: Labels<K>, value: number) => void, s: BalancerState) => void,
  ): void => {
    const metric: Counter<K> | Gauge<K> = new Kind({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        metric.reset();
        fill((labels, value) => (metric instanceof Gauge ? metric.set(labels, value) : metric.inc(labels, value)), state());
      },
    });
  };

  derived(Counter, 'rxlb_connections_total', 'TCP connections established to a backend.', ['listener', 'pool', 'backend'], (set, s) =>
    eachTraffic(s, 'tcp', (t, labels) => set(labels, t.total)),
  );
  derived(Gauge, 'rxlb_connections_active', 'TCP connections open to a backend, connects under way included.', ['listener', 'pool', 'backend'], (set, s) =>
    eachTraffic(s, 'tcp', (t, labels) => set(labels, t.active)),
  );
  derived(
    Counter,
    'rxlb_bytes_total',
    'Bytes delivered by connections and sessions that have ended: upstream to the backend, downstream to the client.',
    ['listener', 'pool', 'backend', 'direction'],
    (set, s) =>
      eachTraffic(s, undefined, (t, labels) => {
        set({ ...labels, direction: 'upstream' }, t.bytesUp);
        set({ ...labels, direction: 'downstream' }, t.bytesDown);
      }),
  );
  derived(Counter, 'rxlb_connect_failures_total', 'Connect attempts to a backend that failed.', ['pool', 'backend', 'reason'], (set, s) =>
    eachBackend(s, (pool, b) => {
      for (const [reason, n] of Object.entries(b.stats.connectFailures)) set({ pool: pool.config.name, backend: b.address, reason }, n);
    }),
  );
  derived(Counter, 'rxlb_connections_rejected_total', 'Connections (or UDP sessions) turned away before reaching a backend.', ['listener', 'reason'], (set, s) =>
    eachListener(s, (l) => {
      for (const reason of REJECT_REASONS) set({ listener: l.config.name, reason }, l.rejected[reason]);
    }),
  );
  derived(Gauge, 'rxlb_backend_up', 'Whether a backend takes new connections (1) or not (0: down, draining or disabled).', ['pool', 'backend'], (set, s) =>
    eachBackend(s, (pool, b) => set({ pool: pool.config.name, backend: b.address }, b.status === 'up' ? 1 : 0)),
  );
  derived(Counter, 'rxlb_health_checks_total', 'Active health checks run, by result.', ['pool', 'backend', 'result'], (set, s) =>
    eachBackend(s, (pool, b) => {
      if (!pool.config.health && b.stats.checks.pass + b.stats.checks.fail === 0) return;
      set({ pool: pool.config.name, backend: b.address, result: 'pass' }, b.stats.checks.pass);
      set({ pool: pool.config.name, backend: b.address, result: 'fail' }, b.stats.checks.fail);
    }),
  );
  derived(Counter, 'rxlb_config_reloads_total', 'Config reloads applied (success) and turned down (failure).', ['result'], (set, s) => {
    set({ result: 'success' }, s.reloads.success);
    set({ result: 'failure' }, s.reloads.failure);
  });
  derived(Gauge, 'rxlb_udp_sessions_active', 'UDP sessions open, each a client address with its own upstream socket.', ['listener', 'pool', 'backend'], (set, s) =>
    eachTraffic(s, 'udp', (t, labels) => set(labels, t.active)),
  );
  derived(Counter, 'rxlb_udp_sessions_total', 'UDP sessions opened to a backend.', ['listener', 'pool', 'backend'], (set, s) =>
    eachTraffic(s, 'udp', (t, labels) => set(labels, t.total)),
  );
  derived(
    Counter,
    'rxlb_udp_datagrams_total',
    'Datagrams forwarded by UDP sessions that have ended: upstream to the backend, downstream to the client.',
    ['listener', 'pool', 'backend', 'direction'],
    (set, s) =>
      eachTraffic(s, 'udp', (t, labels) => {
        set({ ...labels, direction: 'upstream' }, t.datagramsUp);
        set({ ...labels, direction: 'downstream' }, t.datagramsDown);
      }),
  );
  derived(Counter, 'rxlb_udp_datagrams_dropped_total', 'Datagrams a UDP listener dropped instead of forwarding, by reason.', ['listener', 'reason'], (set, s) =>
    eachListener(s, (l) => {
      for (const [reason, dropped] of Object.entries(l.dropped)) set({ listener: l.config.name, reason }, dropped.datagrams);
    }),
  );
  derived(Counter, 'rxlb_accept_errors_total', 'Accepts that failed. Not running out of file descriptors: on Linux, libuv closes such clients before rxlb sees them.', ['listener'], (set, s) =>
    eachListener(s, (l) => {
      if (l.config.protocol === 'tcp') set({ listener: l.config.name }, l.acceptErrors);
    }),
  );
  derived(Gauge, 'rxlb_listener_connections_active', 'Client connections (or UDP sessions) open on a listener, before and after a backend is picked.', ['listener'], (set, s) =>
    eachListener(s, (l) => set({ listener: l.config.name }, l.active)),
  );
  derived(
    Counter,
    'rxlb_policy_failures_total',
    'Connections a pool\'s policy let down, by kind: error, not_candidate, stopped, no_answer, unknown_request.',
    ['pool', 'policy', 'kind'],
    (set, s) => {
      for (const pool of Object.values(s.pools)) {
        for (const [kind, count] of Object.entries(pool.policyFailures)) set({ pool: pool.config.name, policy: pool.config.policy, kind }, count);
      }
    },
  );

  return {
    registry,
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

function eachBackend(s: BalancerState, visit: (pool: PoolState, backend: BackendState) => void): void {
  for (const pool of Object.values(s.pools)) for (const b of pool.backends) visit(pool, b);
}

function eachListener(s: BalancerState, visit: (listener: ListenerState) => void): void {
  for (const l of Object.values(s.listeners)) visit(l);
}

/** Every listener's traffic through every backend, of one protocol or of both. */
function eachTraffic(
  s: BalancerState,
  protocol: Traffic['protocol'] | undefined,
  visit: (traffic: Traffic, labels: { listener: string; pool: string; backend: string }) => void,
): void {
  eachBackend(s, (pool, b) => {
    for (const [listener, t] of Object.entries(b.stats.traffic)) {
      if (protocol === undefined || t.protocol === protocol) visit(t, { listener, pool: pool.config.name, backend: b.address });
    }
  });
}
