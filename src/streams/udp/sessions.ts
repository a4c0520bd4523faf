import type { ConnectFailureReason } from '../../errors.js';
import type { ClientAddress } from '../../operators/policies/types.js';
import type { ConnAttempt, ConnClosed, ConnEvent, ConnFailed } from '../state/events.js';
import { type UdpDoor, udpPoolFor } from './door.js';
import type { DropReason, UdpDropped } from './events.js';
import { SessionMap } from './session-map.js';

/**
 * What one UDP listener's sessions are bound by: its config in force, which a reload can
 * change. New sessions pick from `pool`, or the pool of the first route on `source` that
 * takes their client; `allow` and `deny` say who may open one.
 */
export interface SessionSettings extends UdpDoor {
  /** The name new sessions are recorded under. */
  readonly listener: string;
  /** A session with no datagram either way for this long ends. */
  readonly timeoutMs: number;
  /** At most this many sessions at once; 0 = unlimited. */
  readonly maxSessions: number;
}

/** A backend picked for a session. */
export interface SessionTarget {
  readonly address: string;
  readonly host: string;
  readonly port: number;
}

/**
 * Where a session is: `picking` a backend, `connecting` its upstream socket (datagrams
 * wait in `pending` through both), `open` (datagrams flow), or `failed` (its upstream
 * socket failed; the client's next datagram picks another backend).
 */
export type SessionPhase = 'picking' | 'connecting' | 'open' | 'failed';

/** One client address and port, with its own upstream socket. */
export interface Session {
  /** Unique within the table: a client that comes back after its session ended gets a new one. */
  readonly id: number;
  /** The client as `host:port`: the table's key, and the `client` of its records. */
  readonly key: string;
  readonly client: ClientAddress;
  /**
   * The listener name it was opened under: all its records carry it, so it is counted
   * under one listener from start to end, whatever a reload renames.
   */
  readonly listener: string;
  /** The pool of its latest pick: its backend's pool, which a reload leaves it on. */
  readonly pool: string;
  readonly phase: SessionPhase;
  readonly openedAt: number;
  /**
   * The last datagram either way, as of the last fold of `traffic`. The sweep folds
   * first, so it always judges by the latest.
   */
  readonly lastActiveAt: number;
  /** `conn-opened` was reported: the session had a backend once, so it counts as open. */
  readonly announced: boolean;
  /** The backend of its current upstream socket (connecting or open); it holds a slot there. */
  readonly backend: SessionTarget | undefined;
  /** The id of its current upstream socket. */
  readonly upstream: number | undefined;
  /**
   * The PROXY header (v2, DGRAM) its backend's pool puts before every datagram, built
   * once when the backend was picked; undefined when the pool sends none.
   */
  readonly header: Uint8Array | undefined;
  /** Upstream sockets opened so far: the `attempt` of its events. */
  readonly attempts: number;
  /** The current backend has answered: `conn-connected` was reported for it. */
  readonly answered: boolean;
  /** Backends whose upstream failed this session: a new pick avoids them. */
  readonly tried: readonly string[];
  /** Datagrams waiting for a backend or for the upstream socket, in order. */
  readonly pending: readonly Uint8Array[];
  readonly datagramsUp: number;
  readonly datagramsDown: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

/**
 * Datagrams forwarded since the last fold, newest first: a persistent list, so
 * recording one costs one node and leaves the session map alone.
 */
export interface Traffic {
  readonly session: number;
  readonly key: string;
  readonly at: number;
  /** Client to backend (true) or back (false). */
  readonly up: boolean;
  readonly bytes: number;
  readonly next: Traffic | undefined;
}

export interface DropCount {
  readonly datagrams: number;
  readonly bytes: number;
}

/** Everything one UDP listener knows about its clients. */
export interface SessionTable {
  readonly settings: SessionSettings;
  readonly sessions: SessionMap<Session>;
  readonly traffic: Traffic | undefined;
  readonly trafficLength: number;
  /** The id the next session or upstream socket gets. */
  readonly nextId: number;
  /** Datagrams dropped since the last report, by reason. */
  readonly dropped: Readonly<Record<DropReason, DropCount>>;
  /** Shut down: every datagram from here on is ignored. */
  readonly stopped: boolean;
}

/** What the session table folds: datagrams, what the edges answered, and the clock. */
export type SessionInput =
  /** A datagram from a client. `room`: the process and listener are under their `max_connections`. */
  | { readonly type: 'datagram'; readonly key: string; readonly client: ClientAddress; readonly data: Uint8Array; readonly at: number; readonly room: boolean }
  /** The pool's policy picked a backend for the session; `header` goes before each datagram sent to it. */
  | { readonly type: 'picked'; readonly key: string; readonly session: number; readonly backend: SessionTarget; readonly header?: Uint8Array | undefined }
  /** No backend could be picked. */
  | { readonly type: 'unpicked'; readonly key: string; readonly session: number; readonly reason: DropReason }
  /** The upstream socket can send. */
  | { readonly type: 'ready'; readonly key: string; readonly upstream: number }
  /** A datagram from the backend. */
  | { readonly type: 'reply'; readonly key: string; readonly upstream: number; readonly data: Uint8Array; readonly at: number }
  /** The upstream socket failed: port unreachable (`refused`), or another socket error. */
  | { readonly type: 'upstream-error'; readonly key: string; readonly upstream: number; readonly reason: ConnectFailureReason }
  /** The sweep: end idle sessions, report drops. */
  | { readonly type: 'tick'; readonly at: number }
  /** The listener stops: end every session. */
  | { readonly type: 'shutdown'; readonly at: number }
  /** A reload kept the listener's socket and changed its settings: they hold from now on. */
  | { readonly type: 'settings'; readonly settings: SessionSettings };

/** What the table asks the edges to do, in order. */
export type SessionEffect =
  /** Ask `pool`'s policy for a backend, avoiding `tried`; answer with `picked` or `unpicked`. */
  | { readonly type: 'pick'; readonly key: string; readonly session: number; readonly pool: string; readonly client: ClientAddress; readonly tried: readonly string[] }
  /** Open upstream socket `upstream` to the backend; it answers with `ready`, `reply` and `upstream-error`. */
  | { readonly type: 'connect'; readonly key: string; readonly upstream: number; readonly backend: SessionTarget }
  /** Send a datagram to the backend through upstream socket `upstream`: `header` (a PROXY header), if any, then `data`, as one datagram. */
  | { readonly type: 'forward'; readonly upstream: number; readonly data: Uint8Array; readonly header: Uint8Array | undefined }
  /** Send a datagram to the client from the listener's socket. */
  | { readonly type: 'reply'; readonly client: ClientAddress; readonly data: Uint8Array }
  /** Close upstream socket `upstream`. */
  | { readonly type: 'disconnect'; readonly upstream: number }
  /** Report an event: a session's lifecycle, or dropped datagrams. */
  | { readonly type: 'emit'; readonly event: ConnEvent | UdpDropped };

/** One step of the reducer: the new table and what to do about it. */
export interface SessionStep {
  readonly table: SessionTable;
  readonly effects: readonly SessionEffect[];
}

/** Datagrams a session holds while its backend is picked and its socket opened. */
export const MAX_PENDING = 64;

/**
 * The largest datagram a session sends, its PROXY header included: the most UDP carries
 * over IPv4. A client's datagram that its header would push past this is dropped
 * (`too_large`) rather than failing the send, which would count against the backend.
 */
export const MAX_FORWARD_BYTES = 65_507;

/** Traffic records kept before they are folded into the sessions, sweep or not. */
export const MAX_TRAFFIC = 4096;

const NO_DROPS: Readonly<Record<DropReason, DropCount>> = Object.freeze({
  limit: { datagrams: 0, bytes: 0 },
  no_backend: { datagrams: 0, bytes: 0 },
  backlog: { datagrams: 0, bytes: 0 },
  error: { datagrams: 0, bytes: 0 },
  too_large: { datagrams: 0, bytes: 0 },
  denied: { datagrams: 0, bytes: 0 },
  no_route: { datagrams: 0, bytes: 0 },
});

const NOTHING: readonly SessionEffect[] = Object.freeze([]);

/** A listener's table before its first datagram. */
export function emptySessionTable(settings: SessionSettings): SessionTable {
  return { settings, sessions: SessionMap.empty(), traffic: undefined, trafficLength: 0, nextId: 1, dropped: NO_DROPS, stopped: false };
}

/** How often the sweep runs: half the timeout, at most every second, at least every millisecond. */
export function sweepIntervalMs(timeoutMs: number): number {
  return Math.max(1, Math.min(1000, Math.floor(timeoutMs / 2)));
}

/**
 * The pure reducer of one UDP listener's sessions:
 * `scan((step, input) => reduceSessions(step.table, input))`.
 *
 * 1. A datagram from a client with an open session is forwarded on the session's
 *    upstream socket; a reply goes back to the client. Each one is recorded in
 *    `traffic` (one list node) and folded into the session at the next sweep, so the
 *    per-datagram path never copies the session map.
 * 2. A datagram from a new client opens a session, unless the listener is at
 *    `max_sessions` or the process or listener at `max_connections`: then it is dropped
 *    and counted (`limit`); existing sessions carry on. The session asks for a backend
 *    (`pick`), then for a socket to it (`connect`), holding its datagrams until the
 *    socket is `ready`. `conn-opened` and `conn-attempt` are reported when the backend is
 *    picked, `conn-connected` when the backend first answers: for UDP that is the only
 *    sign of life, so a backend that never answers does not reset its failure count.
 * 3. An upstream error (an ICMP port-unreachable, `refused`) is a failed attempt:
 *    `conn-failed` (a passive-check failure), the socket is closed, and the client's next
 *    datagram picks again, avoiding the backends that failed this session.
 * 4. The sweep (`tick`) ends sessions with no datagram either way for the timeout
 *    (`idle_timeout`) and reports the drops since the last sweep; `shutdown` ends every
 *    session. An ended session that was announced reports `conn-closed` with its
 *    datagram and byte counts.
 * 5. `settings` (a reload that keeps the listener's socket) replaces the settings and
 *    touches no session: the sweep judges every session by the new timeout, so one
 *    already idle for longer ends at the next sweep; a lowered `max_sessions` turns new
 *    clients away until there are fewer, and ends none. New sessions take the new name
 *    and pool; an open session keeps its name and its backend (and so its pool) until it
 *    ends, and one whose backend failed picks again from the new pool.
 */
export function reduceSessions(table: SessionTable, input: SessionInput): SessionStep {
  switch (input.type) {
    case 'datagram':
      return fromClient(table, input.key, input.client, input.data, input.at, input.room);
    case 'reply':
      return fromBackend(table, input.key, input.upstream, input.data, input.at);
    case 'picked':
      return picked(table, input.key, input.session, input.backend, input.header);
    case 'unpicked':
      return unpicked(table, input.key, input.session, input.reason);
    case 'ready':
      return ready(table, input.key, input.upstream);
    case 'upstream-error':
      return upstreamFailed(table, input.key, input.upstream, input.reason);
    case 'tick':
      return sweep(table, input.at);
    case 'shutdown':
      return shutdown(table, input.at);
    case 'settings':
      return { table: { ...table, settings: input.settings }, effects: NOTHING };
  }
}

function fromClient(table: SessionTable, key: string, client: ClientAddress, data: Uint8Array, at: number, room: boolean): SessionStep {
  if (table.stopped) return { table, effects: NOTHING };
  const session = table.sessions.get(key);
  // The hot path: one traffic node, one forward.
  if (session?.phase === 'open') {
    if (!fits(session.header, data)) return { table: drop(table, 'too_large', 1, data.byteLength), effects: NOTHING };
    return { table: record(table, session, at, true, data.byteLength), effects: [{ type: 'forward', upstream: session.upstream!, data, header: session.header }] };
  }
  if (session === undefined) {
    const door = udpPoolFor(table.settings, client.address);
    if ('drop' in door) return { table: drop(table, door.drop, 1, data.byteLength), effects: NOTHING };
    const { maxSessions, listener } = table.settings;
    const { pool } = door;
    if (!room || (maxSessions > 0 && table.sessions.size >= maxSessions)) return { table: drop(table, 'limit', 1, data.byteLength), effects: NOTHING };
    const id = table.nextId;
    const opened: Session = {
      id,
      key,
      client,
      listener,
      pool,
      phase: 'picking',
      openedAt: at,
      lastActiveAt: at,
      announced: false,
      backend: undefined,
      upstream: undefined,
      header: undefined,
      attempts: 0,
      answered: false,
      tried: [],
      pending: [data],
      datagramsUp: 0,
      datagramsDown: 0,
      bytesUp: 0,
      bytesDown: 0,
    };
    return {
      table: { ...table, sessions: table.sessions.set(key, opened), nextId: id + 1 },
      effects: [{ type: 'pick', key, session: id, pool, client, tried: [] }],
    };
  }
  if (session.phase === 'failed') {
    // It has no backend to stay on: it picks from the pool in force, where the backends
    // that failed it in another pool mean nothing; a reload may have shut it out since.
    const door = udpPoolFor(table.settings, client.address);
    if ('drop' in door) return { table: drop(table, door.drop, 1, data.byteLength), effects: NOTHING };
    const { pool } = door;
    const tried = pool === session.pool ? session.tried : [];
    const repicking: Session = { ...session, pool, tried, phase: 'picking', pending: [data], lastActiveAt: at };
    return {
      table: { ...table, sessions: table.sessions.set(key, repicking) },
      effects: [{ type: 'pick', key, session: session.id, pool, client: session.client, tried }],
    };
  }
  // picking or connecting: the datagram waits for the socket
  if (session.pending.length >= MAX_PENDING) return { table: drop(table, 'backlog', 1, data.byteLength), effects: NOTHING };
  const waiting: Session = { ...session, pending: [...session.pending, data], lastActiveAt: at };
  return { table: { ...table, sessions: table.sessions.set(key, waiting) }, effects: NOTHING };
}

function fromBackend(table: SessionTable, key: string, upstream: number, data: Uint8Array, at: number): SessionStep {
  const session = table.sessions.get(key);
  if (session?.upstream !== upstream || session.phase !== 'open' || table.stopped) return { table, effects: NOTHING };
  const recorded = record(table, session, at, false, data.byteLength);
  const reply: SessionEffect = { type: 'reply', client: session.client, data };
  if (session.answered) return { table: recorded, effects: [reply] };
  // The backend's first answer: it is alive.
  const connected: ConnEvent = {
    type: 'conn-connected',
    listener: session.listener,
    pool: session.pool,
    client: key,
    backend: session.backend!.address,
    attempt: session.attempts,
  };
  return {
    table: { ...recorded, sessions: recorded.sessions.set(key, { ...session, answered: true }) },
    effects: [{ type: 'emit', event: connected }, reply],
  };
}

function picked(table: SessionTable, key: string, id: number, backend: SessionTarget, header: Uint8Array | undefined): SessionStep {
  const session = table.sessions.get(key);
  if (session?.id !== id || session.phase !== 'picking') return { table, effects: NOTHING };
  const upstream = table.nextId;
  const attempt = session.attempts + 1;
  const attempting: ConnAttempt = { type: 'conn-attempt', listener: session.listener, pool: session.pool, client: key, backend: backend.address, attempt };
  const effects: SessionEffect[] = [];
  if (!session.announced) effects.push({ type: 'emit', event: { type: 'conn-opened', listener: session.listener, client: key } });
  effects.push({ type: 'emit', event: attempting }, { type: 'connect', key, upstream, backend });
  const connecting: Session = { ...session, phase: 'connecting', announced: true, backend, upstream, header, attempts: attempt, answered: false };
  return { table: { ...table, sessions: table.sessions.set(key, connecting), nextId: upstream + 1 }, effects };
}

function unpicked(table: SessionTable, key: string, id: number, reason: DropReason): SessionStep {
  const session = table.sessions.get(key);
  if (session?.id !== id || session.phase !== 'picking') return { table, effects: NOTHING };
  const dropped = dropAll(table, reason, session.pending);
  // A new client that never had a backend leaves no session behind (and no record).
  const sessions = session.announced ? dropped.sessions.set(key, { ...session, phase: 'failed', pending: [] }) : dropped.sessions.delete(key);
  return { table: { ...dropped, sessions }, effects: NOTHING };
}

function ready(table: SessionTable, key: string, upstream: number): SessionStep {
  const session = table.sessions.get(key);
  if (session?.upstream !== upstream || session.phase !== 'connecting') return { table, effects: NOTHING };
  const { header } = session;
  const sent = header === undefined ? session.pending : session.pending.filter((data) => fits(header, data));
  let bytes = 0;
  const effects = sent.map((data): SessionEffect => {
    bytes += data.byteLength;
    return { type: 'forward', upstream, data, header };
  });
  const open: Session = {
    ...session,
    phase: 'open',
    pending: [],
    datagramsUp: session.datagramsUp + sent.length,
    bytesUp: session.bytesUp + bytes,
  };
  const dropped = sent.length === session.pending.length ? table : dropAll(table, 'too_large', session.pending.filter((data) => !fits(header, data)));
  return { table: { ...dropped, sessions: dropped.sessions.set(key, open) }, effects };
}

/** Whether `data` with `header` before it still fits in one datagram. */
function fits(header: Uint8Array | undefined, data: Uint8Array): boolean {
  return header === undefined || header.byteLength + data.byteLength <= MAX_FORWARD_BYTES;
}

function upstreamFailed(table: SessionTable, key: string, upstream: number, reason: ConnectFailureReason): SessionStep {
  const session = table.sessions.get(key);
  if (session?.upstream !== upstream || session.backend === undefined) return { table, effects: NOTHING };
  const failed: ConnFailed = {
    type: 'conn-failed',
    listener: session.listener,
    pool: session.pool,
    client: key,
    backend: session.backend.address,
    attempt: session.attempts,
    reason,
  };
  const dropped = dropAll(table, 'error', session.pending);
  const next: Session = {
    ...session,
    phase: 'failed',
    backend: undefined,
    upstream: undefined,
    answered: false,
    pending: [],
    tried: session.tried.includes(session.backend.address) ? session.tried : [...session.tried, session.backend.address],
  };
  return {
    table: { ...dropped, sessions: dropped.sessions.set(key, next) },
    effects: [{ type: 'emit', event: failed }, { type: 'disconnect', upstream }],
  };
}

function sweep(table: SessionTable, at: number): SessionStep {
  const folded = fold(table);
  const effects: SessionEffect[] = [];
  let sessions = folded.sessions;
  for (const session of folded.sessions.values()) {
    if (at - session.lastActiveAt < folded.settings.timeoutMs) continue;
    sessions = sessions.delete(session.key);
    effects.push(...close(session, at, 'idle_timeout'));
  }
  effects.push(...dropReports(folded));
  const next = { ...folded, sessions, dropped: NO_DROPS };
  return { table: next, effects: effects.length > 0 ? effects : NOTHING };
}

function shutdown(table: SessionTable, at: number): SessionStep {
  if (table.stopped) return { table, effects: NOTHING };
  const folded = fold(table);
  const effects: SessionEffect[] = [];
  for (const session of folded.sessions.values()) effects.push(...close(session, at, 'shutdown'));
  effects.push(...dropReports(folded));
  return { table: { ...folded, sessions: SessionMap.empty(), dropped: NO_DROPS, stopped: true }, effects };
}

/** The effects of ending a session: its record (if it was ever announced) and closing its socket. */
function close(session: Session, at: number, reason: 'idle_timeout' | 'shutdown'): SessionEffect[] {
  const effects: SessionEffect[] = [];
  if (session.upstream !== undefined) effects.push({ type: 'disconnect', upstream: session.upstream });
  if (!session.announced) return effects;
  const closed: ConnClosed = {
    type: 'conn-closed',
    listener: session.listener,
    pool: session.pool,
    client: session.key,
    backend: session.backend?.address,
    bytesUp: session.bytesUp,
    bytesDown: session.bytesDown,
    durationMs: at - session.openedAt,
    reason,
    datagrams: { up: session.datagramsUp, down: session.datagramsDown },
  };
  effects.push({ type: 'emit', event: closed });
  return effects;
}

function dropReports(table: SessionTable): SessionEffect[] {
  const effects: SessionEffect[] = [];
  for (const reason of Object.keys(table.dropped) as DropReason[]) {
    const count = table.dropped[reason];
    if (count.datagrams === 0) continue;
    const event: UdpDropped = { type: 'udp-dropped', listener: table.settings.listener, pool: table.settings.pool, reason, ...count };
    effects.push({ type: 'emit', event });
  }
  return effects;
}

/** Records one forwarded datagram; folds the list once it is long. */
function record(table: SessionTable, session: Session, at: number, up: boolean, bytes: number): SessionTable {
  const recorded: SessionTable = {
    ...table,
    traffic: { session: session.id, key: session.key, at, up, bytes, next: table.traffic },
    trafficLength: table.trafficLength + 1,
  };
  return recorded.trafficLength >= MAX_TRAFFIC ? fold(recorded) : recorded;
}

/** Brings every session's counts and last activity up to date from the traffic list. */
export function fold(table: SessionTable): SessionTable {
  if (table.traffic === undefined) return table;
  const sums = new Map<number, { key: string; at: number; datagramsUp: number; datagramsDown: number; bytesUp: number; bytesDown: number }>();
  for (let t: Traffic | undefined = table.traffic; t !== undefined; t = t.next) {
    let sum = sums.get(t.session);
    if (!sum) {
      sum = { key: t.key, at: t.at, datagramsUp: 0, datagramsDown: 0, bytesUp: 0, bytesDown: 0 };
      sums.set(t.session, sum);
    }
    if (t.at > sum.at) sum.at = t.at;
    if (t.up) {
      sum.datagramsUp += 1;
      sum.bytesUp += t.bytes;
    } else {
      sum.datagramsDown += 1;
      sum.bytesDown += t.bytes;
    }
  }
  const updates: (readonly [string, Session])[] = [];
  for (const [id, sum] of sums) {
    const session = table.sessions.get(sum.key);
    if (session?.id !== id) continue; // ended since
    updates.push([
      session.key,
      {
        ...session,
        lastActiveAt: Math.max(session.lastActiveAt, sum.at),
        datagramsUp: session.datagramsUp + sum.datagramsUp,
        datagramsDown: session.datagramsDown + sum.datagramsDown,
        bytesUp: session.bytesUp + sum.bytesUp,
        bytesDown: session.bytesDown + sum.bytesDown,
      },
    ]);
  }
  return { ...table, sessions: table.sessions.setMany(updates), traffic: undefined, trafficLength: 0 };
}

function drop(table: SessionTable, reason: DropReason, datagrams: number, bytes: number): SessionTable {
  const count = table.dropped[reason];
  return { ...table, dropped: { ...table.dropped, [reason]: { datagrams: count.datagrams + datagrams, bytes: count.bytes + bytes } } };
}

function dropAll(table: SessionTable, reason: DropReason, datagrams: readonly Uint8Array[]): SessionTable {
  if (datagrams.length === 0) return table;
  return drop(table, reason, datagrams.length, datagrams.reduce((sum, d) => sum + d.byteLength, 0));
}
