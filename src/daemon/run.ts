import { EMPTY, type Observable, Subject, finalize, lastValueFrom, map, merge, takeUntil, tap } from 'rxjs';
import { adminHandlers } from '../admin/handlers.js';
import type { ReloadResult } from '../admin/types.js';
import type { Endpoint } from '../config/types.js';
import { adminServer$ } from '../io/admin-http.js';
import { tuneHeap } from './heap.js';
import { connectionCapFor, openFileLimit } from '../io/descriptor-limit.js';
import { healthProbe$ } from '../io/health-probe.js';
import { tcpIo } from '../io/tcp.js';
import { udpIo } from '../io/udp.js';
import { logEvent } from '../log/event-log.js';
import type { Logger } from '../log/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import type { PolicyFactory } from '../operators/policies/types.js';
import { type BalancerEvent, type ConfigProposal, createBalancer } from '../streams/balancer.js';
import type { AdminAction } from '../streams/state/events.js';

export interface AdminOptions {
  readonly listen: Endpoint;
  /**
   * Mutating requests need `Authorization: Bearer <token>` when set: this one at the
   * start, then the `[admin] token` of each config reloaded (its `listen` waits for a
   * restart: the API keeps its socket).
   */
  readonly token: string | undefined;
  /** What `POST /reload` does; without it, the API answers that there is no file to reload. */
  readonly reload?: () => Promise<ReloadResult>;
}

export interface RunOptions {
  /** The config rxlb starts with, then reloads (see `createReloader`). */
  readonly config$: Observable<ConfigProposal>;
  readonly stop$: Observable<unknown>;
  readonly log: Logger;
  /** The policies pools may name: built-in and loaded modules (`loadPolicies`); default the built-in ones. */
  readonly policies?: Readonly<Record<string, PolicyFactory>>;
  /** The admin API, where `[admin]` or `--admin` asks for it. */
  readonly admin?: AdminOptions;
  /** Sees every event after it is logged (the demo uses it to learn the port, reloads to answer). */
  readonly onEvent?: (event: BalancerEvent) => void;
  /** Called with the admin API's address once it is bound. */
  readonly onAdmin?: (address: string) => void;
}

/**
 * Runs the balancer on real sockets until it has stopped and drained, with the admin
 * API beside it for as long. Rejects with ListenError if a listener or the admin API
 * cannot bind (nothing is left listening then).
 */
export async function run(options: RunOptions): Promise<void> {
  tuneHeap();
  const { log, onEvent, admin } = options;
  const commands = new Subject<AdminAction>();
  // As many connections as the descriptor limit has room for, whatever the config says.
  const openFiles = openFileLimit();
  const connectionCap = openFiles === undefined ? undefined : connectionCapFor(openFiles);
  if (openFiles !== undefined) log.info('descriptor limit', { open_files: openFiles, max_connections: connectionCap });
  const balancer = createBalancer(
    { config$: options.config$, stop$: options.stop$, commands$: commands },
    { io: tcpIo, udp: udpIo, probe$: healthProbe$, now: () => Math.round(performance.now()), policies: options.policies, connectionCap, trail: log.enabled('debug') },
  );
  const drained = new Subject<void>();
  let token = admin?.token;
  const admin$ = admin ? adminApi$(admin, () => token, balancer.state, (action) => commands.next(action)) : EMPTY;
  await lastValueFrom(
    merge(
      balancer.events$.pipe(
        tap((event) => {
          // In force before the reload is answered: a client that reloaded uses the new token next.
          if (event.type === 'reloaded') token = event.config.admin?.token;
          logEvent(log, event);
          onEvent?.(event);
        }),
        finalize(() => drained.next()),
      ),
      // The API answers through the drain (watch /status empty out), then closes.
      admin$.pipe(
        tap((address) => {
          log.announce('admin listening', { address });
          options.onAdmin?.(address);
        }),
        takeUntil(drained),
      ),
    ),
    { defaultValue: undefined },
  );
}

function adminApi$(
  admin: AdminOptions,
  token: () => string | undefined,
  state: ReturnType<typeof createBalancer>['state'],
  command: (action: AdminAction) => void,
): Observable<string> {
  const metrics = createMetrics(state);
  const reload = admin.reload ?? (() => Promise.resolve<ReloadResult>({ ok: false, errors: ['nothing to reload: rxlb was started without a config file'] }));
  const handlers = adminHandlers({ state, command, scrape: metrics.scrape, reload });
  return adminServer$(admin.listen, handlers, token).pipe(map((event) => event.address));
}
