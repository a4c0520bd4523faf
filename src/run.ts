import { type Observable, lastValueFrom, tap } from 'rxjs';
import type { Config } from './config/types.js';
import { healthProbe$ } from './io/health-probe.js';
import { tcpIo } from './io/tcp.js';
import { udpIo } from './io/udp.js';
import { logEvent } from './log/event-log.js';
import type { Logger } from './log/logger.js';
import type { PolicyFactory } from './operators/types.js';
import { type BalancerEvent, createBalancer } from './streams/balancer.js';

export interface RunOptions {
  readonly config$: Observable<Config>;
  readonly stop$: Observable<unknown>;
  readonly log: Logger;
  /** The policies pools may name: built-in and loaded modules (`loadPolicies`); default the built-in ones. */
  readonly policies?: Readonly<Record<string, PolicyFactory>>;
  /** Sees every event after it is logged (the demo uses it to learn the port). */
  readonly onEvent?: (event: BalancerEvent) => void;
}

/**
 * Runs the balancer on real sockets until it has stopped and drained. Rejects with
 * ListenError if a listener cannot bind (nothing is left listening then).
 */
export async function run(options: RunOptions): Promise<void> {
  const { events$ } = createBalancer(
    { config$: options.config$, stop$: options.stop$ },
    { io: tcpIo, udp: udpIo, probe$: healthProbe$, now: () => Math.round(performance.now()), policies: options.policies },
  );
  const onEvent = options.onEvent;
  await lastValueFrom(
    events$.pipe(
      tap((event) => {
        logEvent(options.log, event);
        onEvent?.(event);
      }),
    ),
    { defaultValue: undefined },
  );
}
