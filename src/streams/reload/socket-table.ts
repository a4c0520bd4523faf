import { type Observable, catchError, map, of, throwError } from 'rxjs';
import type { Config, ListenerConfig } from '../../config/types.js';
import { ListenError } from '../../errors.js';
import type { ConfigProposal } from './proposal.js';
import { type ConfigChange, diffConfigs, socketOf } from './config-diff.js';
import type { ReloadFailed } from '../state/events.js';
import type { ConnectionIo, ListenEvent, ListenIo, UdpIo, UdpListenEvent } from '../ports.js';
import { type BoundSocket, bindAll, bindSocket } from './bound-socket.js';

/** A listener of the config in force, and the bound socket it accepts on. */
export interface Slot<C, L> {
  readonly listener: ListenerConfig;
  /** TCP sockets carry ListenEvents, UDP ones UdpListenEvents, as the listener's protocol says. */
  readonly socket: BoundSocket<ListenEvent<C> | UdpListenEvent<L>>;
}

/** A config that took effect: its listeners' slots, and those whose socket it bound. */
export interface Commit<C, L> {
  readonly type: 'commit';
  readonly config: Config;
  /** False for the first config, which starts rather than reloads. */
  readonly reload: boolean;
  readonly changes: readonly ConfigChange[];
  readonly slots: readonly Slot<C, L>[];
  readonly fresh: readonly Slot<C, L>[];
}

export type Outcome<C, L> = Commit<C, L> | ReloadFailed;

/** The edges a socket table binds with. */
export interface SocketDeps<C, L> {
  readonly io: Pick<ConnectionIo<C, unknown>, 'release'> & ListenIo<C>;
  readonly udp?: Pick<UdpIo<L, unknown>, 'listen$'>;
}

/**
 * The listening sockets, by protocol and bind: the one piece of the graph that is
 * mutable, as routing's table of running policies is, since sockets outlive the sets
 * that use them.
 */
export function createSocketTable<C, L>(deps: SocketDeps<C, L>) {
  const open = new Map<string, Slot<C, L>['socket']>();
  let current: Config | undefined;
  let wanted = new Set<string>();

  const bind$ = (listener: ListenerConfig): Observable<Slot<C, L>['socket']> => {
    if (listener.protocol === 'udp') {
      const udp = deps.udp;
      if (!udp) return throwError(() => new ListenError(`listener ${listener.name}: protocol "udp" needs the UDP io, which was not given`));
      return bindSocket(udp.listen$(listener), () => undefined); // a datagram nobody reads is dropped, as UDP does
    }
    return bindSocket(deps.io.listen$(listener), (event) => {
      if (event.type === 'accepted') deps.io.release(event.accepted.socket); // accepted as the reload failed
    });
  };

  return {
    /** Binds what `proposal` needs and is not open, all or nothing; one outcome, or an error at the start. */
    commit$(proposal: ConfigProposal): Observable<Outcome<C, L>> {
      const failed = (errors: readonly string[]): Observable<Outcome<C, L>> => of({ type: 'reload-failed', errors });
      if ('rejected' in proposal) return current ? failed(proposal.errors) : throwError(() => new ListenError(proposal.errors.join('; ')));
      const config = proposal;
      const fresh = config.listeners.filter((l) => !open.has(socketOf(l)));
      return bindAll<ListenEvent<C> | UdpListenEvent<L>>(fresh.map(bind$)).pipe(
        map((bound): Outcome<C, L> => {
          fresh.forEach((l, i) => open.set(socketOf(l), bound[i]!));
          const slotOf = (listener: ListenerConfig): Slot<C, L> => ({ listener, socket: open.get(socketOf(listener))! });
          const commit: Commit<C, L> = {
            type: 'commit',
            config,
            reload: current !== undefined,
            changes: current ? diffConfigs(current, config) : [],
            slots: config.listeners.map(slotOf),
            fresh: fresh.map(slotOf),
          };
          current = config;
          wanted = new Set(config.listeners.map(socketOf));
          return commit;
        }),
        catchError((err: unknown) => (current ? failed([err instanceof Error ? err.message : String(err)]) : throwError(() => err))),
      );
    },
    /** Closes the sockets the config in force no longer has. */
    retire(): void {
      for (const [key, socket] of open) {
        if (wanted.has(key)) continue;
        open.delete(key);
        socket.close();
      }
    },
    closeAll(): void {
      wanted = new Set();
      this.retire();
    },
  };
}
