import type { BalancerEvent } from '../streams/balancer.js';
import { describeChange } from '../streams/reload/config-diff.js';
import type { Logger } from './logger.js';

/**
 * Writes each balancer event as the record interface.md names: `listening` (with its
 * pool, at every level, `-q` included) and `connection closed` at info, the per-attempt
 * trail at debug (`-v`), so one connection can be followed from accept to close;
 * `backend state` at info, one per status change of a backend, with its cause. A bad
 * PROXY header makes a `bad PROXY header` warning, and a client held to
 * `connection_rate_per_client` a `rate limited` warning: each the first of a listener at
 * once, then at most one a minute with a count, so a scanner or a greedy client cannot
 * flood the log (each refused connection still has its `connection closed` record). A UDP
 * session ends with `session closed` (its datagram counts too); dropped datagrams make
 * one `datagrams dropped` warning per listener and reason per sweep, at most one a
 * second. Each reload makes one `config reloaded` record listing what changed, or one
 * `config reload failed` with every error.
 */
export function logEvent(log: Logger, event: BalancerEvent): void {
  switch (event.type) {
    case 'listening':
      log.announce('listening', { protocol: event.listener.protocol, address: event.address, listener: event.listener.name, pool: event.listener.pool });
      return;
    case 'accept-error':
      log.warn('accept failed', { listener: event.listener.name, error: (event.error as NodeJS.ErrnoException).code ?? event.error.message });
      return;
    // The per-connection trail is off by default: check before building its fields,
    // which a level that is off would build for nothing three times per connection.
    case 'conn-opened':
      if (log.enabled('debug')) log.debug('connection opened', { listener: event.listener, client: event.client });
      return;
    case 'conn-attempt':
      if (log.enabled('trace')) log.trace('connecting', { listener: event.listener, client: event.client, backend: event.backend, attempt: event.attempt });
      return;
    case 'conn-failed':
      if (event.local) {
        // rxlb itself ran short (descriptors): worth a warning without -v
        log.warn('connect failed', { listener: event.listener, client: event.client, backend: event.backend, reason: event.reason, attempt: event.attempt, error: event.local });
        return;
      }
      log.debug('connect failed', { listener: event.listener, client: event.client, backend: event.backend, reason: event.reason, attempt: event.attempt });
      return;
    case 'conn-connected':
      if (log.enabled('debug')) log.debug('backend connected', { listener: event.listener, client: event.client, backend: event.backend, attempt: event.attempt });
      return;
    case 'conn-closed':
      if (event.datagrams !== undefined) {
        log.info('session closed', {
          listener: event.listener,
          client: event.client,
          backend: event.backend ?? null,
          datagrams_up: event.datagrams.up,
          datagrams_down: event.datagrams.down,
          bytes_up: event.bytesUp,
          bytes_down: event.bytesDown,
          duration_ms: event.durationMs,
          reason: event.reason,
        });
        return;
      }
      // A scan must not flood the log: clients the access lists turn away show at -v only.
      if (event.reason === 'denied' && !log.enabled('debug')) return;
      (event.reason === 'denied' ? log.debug : log.info)('connection closed', {
        listener: event.listener,
        client: event.client,
        peer: event.peer,
        backend: event.backend ?? null,
        bytes_up: event.bytesUp,
        bytes_down: event.bytesDown,
        duration_ms: event.durationMs,
        reason: event.reason,
        sni: event.sni,
        route: event.route,
        unique_id: event.uniqueId,
        detail: event.detail,
      });
      return;
    case 'bad-header':
      log.warn('bad PROXY header', { listener: event.listener, peer: event.peer, detail: event.detail, count: event.count });
      return;
    case 'rate-limited':
      log.warn('rate limited', { listener: event.listener, client: event.client, count: event.count });
      return;
    case 'udp-dropped':
      log.warn('datagrams dropped', { listener: event.listener, reason: event.reason, datagrams: event.datagrams, bytes: event.bytes });
      return;
    case 'reloaded':
      log.info('config reloaded', { source: event.config.source, changes: event.changes.map(describeChange) });
      return;
    case 'reload-failed':
      log.error('config reload failed', { errors: event.errors });
      return;
    case 'policy-failed':
      log.warn('policy failed', { pool: event.pool, policy: event.policy, kind: event.kind, error: event.message, count: event.count });
      return;
    case 'state-event-dropped':
      log.error('state event dropped', { event: event.event.type, error: stackOf(event.error) });
      return;
    case 'source-failed':
      log.error('source failed', { source: event.source, error: stackOf(event.error), retry_ms: 1000 });
      return;
    case 'backend-state':
      log.info('backend state', { pool: event.pool, backend: event.backend, from: event.from, to: event.to, cause: event.cause, detail: event.detail });
      return;
  }
}

/** An error with its stack, for the records of bugs. */
function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
