import { createHash } from 'node:crypto';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type LogRecord, connect, readAll, testServers } from '../integration/harness.js';
import {
  byteStream,
  closed,
  closedRecords,
  gone,
  KiB,
  logOneMore,
  MiB,
  NOTHING_OPEN,
  openByCounters,
  readAtLeast,
  settledSocketCount,
  socketCount,
  startWatched,
  tally,
  totalsByCounters,
  totalsByRecords,
  waitForCount,
  within,
} from './helpers.js';

const server = testServers();

const DURATION_MS = 60_000;
const WORKERS = 12;
const SEED = 20261122;

/*
 * The soak's backends speak a tiny protocol: the client's first line is a JSON header
 * saying what the backend is to do; every byte either way comes from POOL, so both ends
 * know what the other must have sent.
 */
type Kind = 'echo-short' | 'echo-bulk' | 'download' | 'upload' | 'client-reset' | 'backend-reset';
const MIX: readonly [Kind, number][] = [
  ['echo-short', 30],
  ['echo-bulk', 12],
  ['download', 15],
  ['upload', 15],
  ['client-reset', 14],
  ['backend-reset', 14],
];

interface Header {
  readonly kind: Kind;
  readonly id: number;
  /** Where in POOL the backend's bytes start, and how many it sends. */
  readonly offset: number;
  readonly down: number;
}

const POOL = byteStream(SEED).next(8 * MiB + 64 * KiB);
const slice = (offset: number, length: number): Buffer => POOL.subarray(offset, offset + length);
/** What a backend streams until it is cut: POOL's first 4 MiB, over and over. */
const CYCLE = POOL.subarray(0, 4 * MiB);
const digest = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** What a backend saw of one connection, by header id. */
interface BackendSide {
  readonly backend: string;
  /** upload: what came after the header, once the client ended. */
  upload?: Promise<{ bytes: number; digest: string }>;
  /** client-reset: when the backend's socket closed. */
  closedAt?: Promise<number>;
  /** backend-reset: when the backend reset. */
  resetAt?: number;
}
const sides = new Map<number, BackendSide>();
/** How backend resets reached the clients: as a reset (ECONNRESET) or as an orderly end. */
const resetSeenAs = new Map<string, number>();

function behave(address: () => string): (socket: net.Socket) => void {
  return (socket) => {
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0) return;
      socket.off('data', onHead); // the handlers below are added in this same tick: no chunk is missed
      const header = JSON.parse(head.subarray(0, nl).toString()) as Header;
      const side: BackendSide = { backend: address() };
      sides.set(header.id, side);
      run(socket, header, head.subarray(nl + 1), side);
    };
    socket.on('data', onHead);
  };
}

function run(socket: net.Socket, h: Header, rest: Buffer, side: BackendSide): void {
  switch (h.kind) {
    case 'echo-short':
    case 'echo-bulk': {
      const echoChunk = (chunk: Buffer): void => {
        if (!socket.write(chunk)) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
      };
      if (rest.length > 0) echoChunk(rest);
      socket.on('data', echoChunk).on('end', () => socket.end());
      return;
    }
    case 'download': // answers once the client has said all it will (a half-close from the client)
      socket.on('data', () => undefined).on('end', () => socket.end(slice(h.offset, h.down)));
      return;
    case 'upload': {
      // Says its piece and ends its side at once (a half-close from the backend), then
      // reads the client's upload to its end.
      socket.end(slice(h.offset, h.down));
      const hash = createHash('sha256').update(rest);
      let bytes = rest.length;
      socket.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      side.upload = new Promise((resolve) => socket.on('end', () => resolve({ bytes, digest: hash.digest('hex') })));
      return;
    }
    case 'client-reset': {
      side.closedAt = closed(socket);
      socket.on('data', () => undefined);
      let at = 0;
      const pump = (): void => {
        while (!socket.destroyed) {
          const chunk = CYCLE.subarray(at, at + 64 * KiB);
          at = (at + chunk.length) % CYCLE.length;
          if (!socket.write(chunk)) return;
        }
      };
      socket.on('drain', pump);
      pump();
      return;
    }
    case 'backend-reset':
      socket.on('data', () => undefined);
      socket.write(slice(h.offset, h.down), () => {
        side.resetAt = performance.now();
        socket.resetAndDestroy();
      });
      return;
  }
}

/** mulberry32: a small seeded generator. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What one connection's `connection closed` record must say. */
interface Expected {
  readonly kind: Kind;
  readonly client: string;
  readonly reason: string;
  /** Checks the record's backend and byte counts; returns what is wrong, if anything. */
  readonly check: (r: LogRecord) => string | undefined;
}

const exactly =
  (backend: string, up: number, down: number) =>
  (r: LogRecord): string | undefined =>
    r.backend === backend && r.bytes_up === up && r.bytes_down === down ? undefined : `want backend ${backend} up ${up} down ${down}`;

/** Runs one connection of the given kind through rxlb; throws with what went wrong. */
async function one(port: number, kind: Kind, id: number, rand: () => number): Promise<{ expected: Expected; bytes: number }> {
  const between = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const offset = between(0, 64 * KiB);
  const header = (down: number): Buffer => Buffer.from(`${JSON.stringify({ kind, id, offset, down } satisfies Header)}\n`);
  const client = await connect(port);
  const address = `127.0.0.1:${client.localPort}`;
  const side = (): BackendSide => {
    const s = sides.get(id);
    if (!s) throw new Error(`${kind} #${id}: no backend saw the header`);
    return s;
  };
  switch (kind) {
    case 'echo-short':
    case 'echo-bulk': {
      const n = kind === 'echo-short' ? between(1, 4 * KiB) : between(256 * KiB, 4 * MiB);
      const payload = slice(between(0, 64 * KiB), n);
      const head = header(0);
      const echoed = readAll(client);
      client.write(head);
      client.end(payload);
      const got = await echoed;
      if (got.length !== n || digest(got) !== digest(payload)) throw new Error(`${kind} #${id}: echoed ${got.length} of ${n} bytes, or not byte-exact`);
      await closed(client);
      return { expected: { kind, client: address, reason: 'client_closed', check: exactly(side().backend, head.length + n, n) }, bytes: 2 * n };
    }
    case 'download': {
      const down = between(64 * KiB, 4 * MiB);
      const head = header(down);
      const got = readAll(client);
      client.end(head); // half-close: the backend answers after our end
      const data = await got;
      if (data.length !== down || digest(data) !== digest(slice(offset, down))) throw new Error(`download #${id}: got ${data.length} of ${down} bytes, or not byte-exact`);
      await closed(client);
      return { expected: { kind, client: address, reason: 'client_closed', check: exactly(side().backend, head.length, down) }, bytes: down };
    }
    case 'upload': {
      const down = between(1, 2 * KiB);
      const n = between(KiB, 2 * MiB);
      const payload = slice(between(0, 64 * KiB), n);
      const head = header(down);
      const greeting = readAll(client);
      client.write(head);
      const got = await greeting; // the backend has ended its side ...
      if (!got.equals(slice(offset, down))) throw new Error(`upload #${id}: greeting of ${got.length} bytes is not byte-exact`);
      client.end(payload); // ... and still reads ours
      await closed(client);
      const upload = await within(side().upload ?? Promise.reject(new Error('no upload')), 5_000, `upload #${id} reaches the backend`);
      if (upload.bytes !== n || upload.digest !== digest(payload)) throw new Error(`upload #${id}: backend got ${upload.bytes} of ${n} bytes, or not byte-exact`);
      return { expected: { kind, client: address, reason: 'backend_closed', check: exactly(side().backend, head.length + n, down) }, bytes: n + down };
    }
    case 'client-reset': {
      const want = between(64 * KiB, MiB);
      const head = header(0);
      const seen = tally(client);
      client.write(head);
      await readAtLeast(client, seen, want);
      const resetAt = performance.now();
      client.resetAndDestroy();
      const backendClosedAt = await within(side().closedAt ?? Promise.reject(new Error('no backend socket')), 1_000, `client-reset #${id}: the backend's socket closes`);
      if (backendClosedAt - resetAt > 1_000) throw new Error(`client-reset #${id}: backend closed ${backendClosedAt - resetAt} ms after the reset`);
      const data = seen.data();
      for (let at = 0; at < data.length; at += CYCLE.length) {
        const part = data.subarray(at, at + CYCLE.length);
        if (!part.equals(CYCLE.subarray(0, part.length))) throw new Error(`client-reset #${id}: the ${data.length} bytes read are not what the backend sent`);
      }
      const backend = side().backend;
      const check = (r: LogRecord): string | undefined =>
        r.backend === backend && r.bytes_up === head.length && Number(r.bytes_down) >= data.length ? undefined : `want backend ${backend} up ${head.length} down >= ${data.length}`;
      return { expected: { kind, client: address, reason: 'client_closed', check }, bytes: data.length };
    }
    case 'backend-reset': {
      const down = between(16 * KiB, MiB);
      const head = header(down);
      const seen = tally(client);
      const cut = gone(client);
      let how = 'end';
      client.on('error', (err: NodeJS.ErrnoException) => (how = err.code ?? 'error'));
      client.write(head);
      // rxlb passes the reset on as a reset, or as an orderly end when that is how it
      // saw it (see gone()); then the client, done, closes its side.
      const cutAt = await cut;
      const seenAs = how;
      const resetAt = side().resetAt;
      if (resetAt === undefined) throw new Error(`backend-reset #${id}: the client was cut before the backend reset`);
      if (cutAt - resetAt > 1_000) throw new Error(`backend-reset #${id}: the client saw the end ${cutAt - resetAt} ms after the reset`);
      if (seenAs === 'end') client.end();
      await closed(client);
      resetSeenAs.set(seenAs, (resetSeenAs.get(seenAs) ?? 0) + 1);
      const data = seen.data();
      if (!data.equals(slice(offset, data.length))) throw new Error(`backend-reset #${id}: the ${data.length} bytes read are not what the backend sent`);
      const backend = side().backend;
      const check = (r: LogRecord): string | undefined =>
        r.backend === backend && r.bytes_up === head.length && Number(r.bytes_down) >= data.length && Number(r.bytes_down) <= down
          ? undefined
          : `want backend ${backend} up ${head.length} ${data.length} <= down <= ${down}`;
      return { expected: { kind, client: address, reason: 'backend_closed', check }, bytes: data.length };
    }
  }
}

describe('soak', () => {
  it(`${DURATION_MS / 1000} s of mixed traffic against three backends: every byte checked, every connection recorded, no socket left`, async () => {
    const backends = await Promise.all([0, 1, 2].map(async () => {
      let address = '';
      const s = await server(behave(() => address));
      address = s.address;
      return s;
    }));
    const { rxlb, port, admin, pid, baseline } = await startWatched([...backends.map((b) => b.address)]);

    const total = MIX.reduce((sum, [, w]) => sum + w, 0);
    const pick = (rand: () => number): Kind => {
      let r = rand() * total;
      for (const [kind, w] of MIX) if ((r -= w) < 0) return kind;
      return 'echo-short';
    };
    const expected: Expected[] = [];
    const failures: string[] = [];
    const counts = new Map<Kind, number>();
    let bytes = 0;
    let ids = 0;
    const started = performance.now();
    const deadline = started + DURATION_MS;
    // Each worker draws from its own seeded generator, so its sequence of kinds and sizes
    // is the same on every run.
    const worker = async (n: number): Promise<void> => {
      const rand = random(SEED + n);
      while (performance.now() < deadline && failures.length < 20) {
        const kind = pick(rand);
        const id = (ids += 1);
        try {
          const done = await within(one(port, kind, id, rand), 30_000, `${kind} #${id}`);
          expected.push(done.expected);
          bytes += done.bytes;
          counts.set(kind, (counts.get(kind) ?? 0) + 1);
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, n) => worker(n)));
    const seconds = (performance.now() - started) / 1000;
    expect(failures).toEqual([]);

    // One record per connection, each with the reason and counts its kind implies.
    await waitForCount(rxlb, (r) => r.msg === 'connection closed', expected.length, 30_000).catch(async (err: unknown) => {
      const had = closedRecords(rxlb).length;
      await logOneMore(rxlb, port);
      throw new Error(
        `${String(err).slice(0, 120)}\n${had} of ${expected.length} records while rxlb holds ${socketCount(pid)} sockets (baseline ${baseline}); ` +
          `after one more connection was logged: ${closedRecords(rxlb).length - 1}`,
      );
    });
    const records = closedRecords(rxlb);
    expect(records).toHaveLength(expected.length);
    const byClient = new Map<string, LogRecord[]>();
    for (const r of records) byClient.set(String(r.client), [...(byClient.get(String(r.client)) ?? []), r]);
    const unmatched: string[] = [];
    for (const e of expected) {
      const candidates = byClient.get(e.client) ?? [];
      const at = candidates.findIndex((r) => r.reason === e.reason && e.check(r) === undefined);
      if (at < 0) {
        unmatched.push(`${e.kind} ${e.client}: want ${e.reason}, ${e.check(candidates[0] ?? { msg: '', level: '' }) ?? ''}; records: ${JSON.stringify(candidates)}`);
        continue;
      }
      candidates.splice(at, 1);
    }
    expect(unmatched.slice(0, 10)).toEqual([]);

    expect(await settledSocketCount(pid, baseline)).toBe(baseline);
    expect(rxlb.child.exitCode).toBeNull();
    expect(await openByCounters(admin)).toEqual(NOTHING_OPEN);
    const totals = totalsByRecords(records);
    expect(totals.connections).toBe(expected.length);
    expect(await totalsByCounters(admin)).toEqual(totals);
    const reasons = new Map<string, number>();
    for (const r of records) reasons.set(String(r.reason), (reasons.get(String(r.reason)) ?? 0) + 1);
    console.info(
      `soak: ${expected.length} connections in ${seconds.toFixed(1)} s (${(expected.length / seconds).toFixed(0)}/s), ${(bytes / MiB).toFixed(0)} MiB checked; ` +
        `kinds ${JSON.stringify(Object.fromEntries(counts))}; reasons ${JSON.stringify(Object.fromEntries(reasons))}; ` +
        `backend resets reached the client as ${JSON.stringify(Object.fromEntries(resetSeenAs))}; per backend ${JSON.stringify(backends.map((b) => b.accepted()))}; rxlb sockets ${baseline} -> ${baseline}`,
    );
  });
});
