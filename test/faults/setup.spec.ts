import { once } from 'node:events';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RESPONSE_503 } from '../../src/io/tcp-client.js';
import { type LogRecord, readAll, refusedPort, sha256, testServers } from '../integration/harness.js';
import {
  answerAtEnd,
  answerTo,
  byteStream,
  childBackends,
  closed,
  closedRecords,
  KiB,
  metricSum,
  NOTHING_OPEN,
  openByCounters,
  poolConfig,
  settledSocketCount,
  startWatched,
  totalsByCounters,
  totalsByRecords,
  type Watched,
  within,
} from './helpers.js';

/*
 * Clients that go, or half-close, while their connection is still being set up: while
 * the policy thinks, while the connect is in flight, around the hand-over to the copy,
 * and while a 503 is written. Whatever the client does, its connection ends with exactly
 * one `connection closed` record, nothing rxlb holds is left behind, and a client that
 * only half-closed gets its whole answer.
 */

const server = testServers();
const children = childBackends();

/** Clients per case. */
const CLIENTS = 200;
/** What every backend here answers after a request (behind a hash of the request). */
const BODY = byteStream(60).next(64 * KiB);

/** Client i's request: its number, then bytes of its own. */
const requestFor = (i: number): Buffer => Buffer.concat([Buffer.from(`request ${i}\n`), byteStream(1_000 + i).next(2 * KiB)]);
const HTTP_REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: rxlb.test\r\n\r\n');
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A client of rxlb, connected, with its address as rxlb's records name it. */
interface Client {
  readonly socket: net.Socket;
  readonly address: string;
  readonly closed: Promise<number>;
}

/**
 * Each client connects from an address of its own in 127/8 (all of it is loopback on
 * Linux), so that rxlb's records name every client of this file apart: a client port
 * alone repeats once the machine has run through its ephemeral ports, which other
 * tests on a shared machine do within seconds.
 */
let clientsSoFar = 0;
function nextClientAddress(): string {
  const n = clientsSoFar++;
  return `127.20.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}

function connectClient(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const localAddress = nextClientAddress();
    const socket = net.connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({ socket, address: `${localAddress}:${socket.localPort}`, closed: closed(socket) });
    });
  });
}

interface ResetOptions {
  /** Written at once. */
  readonly request?: Buffer;
  /** Written just before the reset, so that it reaches rxlb with it. */
  readonly last?: Buffer;
  /** What the reset waits for before its delay starts; by default nothing. */
  readonly after?: (client: Client) => Promise<unknown>;
}

/** Connects, and resets the connection `ms` after `options.after` (0: at once); resolves at the client's close. */
async function resetAfter(port: number, ms: number, options: ResetOptions = {}): Promise<string> {
  const client = await connectClient(port);
  if (options.request !== undefined) client.socket.write(options.request);
  await options.after?.(client);
  const reset = (): void => {
    if (options.last !== undefined) client.socket.write(options.last);
    client.socket.resetAndDestroy();
  };
  if (ms === 0) reset();
  else setTimeout(reset, ms);
  await client.closed;
  return client.address;
}

/**
 * Resolves once rxlb has taken the client up (its `connection opened` record, with -v).
 * A client that resets while it still waits in rxlb's accept queue is gone before rxlb
 * can learn its address, and leaves no record (see "resets at once or 1 ms after
 * sending"), so the cases of one phase time their resets from here.
 */
const takenUp =
  (watched: Watched) =>
  (client: Client): Promise<LogRecord> =>
    watched.rxlb.waitFor((r) => r.msg === 'connection opened' && r.client === client.address, 10_000);

/** Resolves at the first byte rxlb sends the client. */
const firstByte = (client: Client): Promise<unknown> => once(client.socket, 'data');

/** Connects, sends `request` and its FIN `ms` later (0: at once), and reads the answer to its end. */
async function ask(port: number, ms: number, request: Buffer): Promise<{ address: string; answer: Buffer }> {
  const client = await connectClient(port);
  const answer = readAll(client.socket);
  if (ms === 0) client.socket.end(request);
  else setTimeout(() => client.socket.end(request), ms);
  return { address: client.address, answer: await answer };
}

/**
 * The `connection closed` record of each of these clients, in the clients' order, once
 * each has one (a second one for a client is caught by expectOneRecordEach).
 */
async function recordsOf(watched: Watched, clients: readonly string[], timeoutMs = 10_000): Promise<LogRecord[]> {
  const missing = new Set(clients);
  if (missing.size === 0) return [];
  const byClient = new Map<string, LogRecord>();
  const take = (r: LogRecord): boolean => {
    if (r.msg === 'connection closed' && missing.delete(String(r.client))) byClient.set(String(r.client), r);
    return missing.size === 0;
  };
  // waitFor hands every record to `take` once, the ones already logged first.
  await watched.rxlb.waitFor(take, timeoutMs).catch((err: unknown) => {
    const names = [...missing].slice(0, 10).join(', ');
    throw new Error(`${missing.size} of ${clients.length} clients have no connection closed record (${names}): ${err instanceof Error ? err.message : String(err)}`);
  });
  return clients.map((c) => byClient.get(c)!);
}

/**
 * Clients that come after a case are served as the config says, each answer checked
 * byte for byte. Their records are the last: rxlb writes its log in order, so once they
 * are out, every record of the case is too.
 */
async function servedAfterwards(watched: Watched, expected: (request: Buffer) => Buffer, n = 5): Promise<string[]> {
  const requests = range(n).map((i) => requestFor(10_000 + i));
  const asked = await within(Promise.all(requests.map((r) => ask(watched.port, 0, r))), 10_000, `${n} new clients are answered`);
  asked.forEach(({ answer }, i) => expect(sha256(answer)).toBe(sha256(expected(requests[i]!))));
  const addresses = asked.map((a) => a.address);
  await recordsOf(watched, addresses);
  return addresses;
}

/** Every client named has exactly one `connection closed` record, and no one else has any. */
function expectOneRecordEach(watched: Watched, clients: readonly string[]): void {
  const count = new Map<string, number>();
  for (const r of closedRecords(watched.rxlb)) count.set(String(r.client), (count.get(String(r.client)) ?? 0) + 1);
  expect(clients.filter((c) => count.get(c) !== 1)).toEqual([]);
  expect(closedRecords(watched.rxlb)).toHaveLength(clients.length);
}

const messages = (watched: Watched, msg: string): LogRecord[] => watched.rxlb.records.filter((r) => r.msg === msg);

/**
 * Each client rxlb took up (its `connection opened`) has exactly one `connection closed`
 * record, every other client none, and no record names anyone else. Returns the clients
 * rxlb never saw.
 */
function expectOneRecordEachSeen(watched: Watched, clients: readonly string[]): string[] {
  const opened = new Set(messages(watched, 'connection opened').map((r) => String(r.client)));
  const seen = clients.filter((c) => opened.has(c));
  const count = new Map<string, number>();
  for (const r of closedRecords(watched.rxlb)) count.set(String(r.client), (count.get(String(r.client)) ?? 0) + 1);
  expect(seen.filter((c) => count.get(c) !== 1)).toEqual([]);
  expect(closedRecords(watched.rxlb)).toHaveLength(seen.length);
  expect(messages(watched, 'connection opened')).toHaveLength(seen.length);
  return clients.filter((c) => !opened.has(c));
}

/** rxlb's sockets as before any traffic (polled within `timeoutMs`), its counters at 0, and its totals as its records add up. */
async function expectAtRest(watched: Watched, timeoutMs?: number): Promise<void> {
  expect(await settledSocketCount(watched.pid, watched.baseline, timeoutMs)).toBe(watched.baseline);
  expect(await openByCounters(watched.admin)).toEqual(NOTHING_OPEN);
  expect(await totalsByCounters(watched.admin)).toEqual(totalsByRecords(watched.rxlb.records));
  expect(watched.rxlb.child.exitCode).toBeNull();
}

/**
 * A policy module, in a folder of its own that links to this project's node_modules, so
 * that it imports rxjs from its own folder upwards as a user's module does.
 */
function policyModule(name: string, lines: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'rxlb-policy-'));
  symlinkSync(fileURLToPath(new URL('../../node_modules', import.meta.url)), join(dir, 'node_modules'), 'dir');
  const path = join(dir, `${name}.js`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** A policy that answers every request `ms` late, in order, with its first candidate. */
const latePolicy = (ms: number): string =>
  policyModule('late', [
    "import { delay, map } from 'rxjs';",
    '',
    `export default (requests) => requests.pipe(delay(${ms}), map((request) => ({ request, backend: request.candidates[0] })));`,
  ]);

/**
 * A policy that answers at once with the first candidate, after `ms` of work: rxlb's
 * event loop is busy between the accept and the connect, which widens the set-up from a
 * fraction of a millisecond on loopback, so more resets arrive before the copy starts.
 */
const busyPolicy = (ms: number): string =>
  policyModule('busy', [
    "import { map } from 'rxjs';",
    '',
    'export default (requests) =>',
    '  requests.pipe(',
    '    map((request) => {',
    `      const until = performance.now() + ${ms};`,
    '      while (performance.now() < until);',
    '      return { request, backend: request.candidates[0] };',
    '    }),',
    '  );',
  ]);

/** A seeded generator of numbers in [0, 1) (mulberry32), so a run can be repeated. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('1. a client that goes while the policy thinks', () => {
  const POLICY_MS = 300;

  it('resets: each connection ends at once as client_closed with no backend, and the late answers are dropped without blaming the policy', async () => {
    const backend = await server(answerAtEnd(BODY));
    const watched = await startWatched(['-c', poolConfig({ backends: [backend.address], policy: latePolicy(POLICY_MS) }), '-v']);

    const clients = await within(Promise.all(range(CLIENTS).map(() => resetAfter(watched.port, 50, { after: takenUp(watched) }))), 10_000, 'every client resets');
    const records = await recordsOf(watched, clients);
    for (const record of records) {
      expect(record).toMatchObject({ listener: 'web', backend: null, bytes_up: 0, bytes_down: 0, reason: 'client_closed' });
      expect(record.duration_ms).toBeLessThan(POLICY_MS); // it ended before the policy answered
    }
    await expectAtRest(watched);

    // The new clients are answered 300 ms late too, after every late answer to the clients
    // that went: by then rxlb has heard them all and connected for none of them.
    const afterwards = await servedAfterwards(watched, (r) => answerTo(r, BODY));
    expect(backend.accepted()).toBe(afterwards.length);
    expect(messages(watched, 'policy failed')).toEqual([]);
    expect(metricSum(await watched.admin.metrics(), 'rxlb_policy_failures_total')).toBe(0);
    expect(messages(watched, 'backend connected')).toHaveLength(afterwards.length);
    expectOneRecordEach(watched, [...clients, ...afterwards]);
    await expectAtRest(watched);
    const durations = records.map((r) => Number(r.duration_ms));
    console.info(`policy thinking: ${CLIENTS} resets ended after ${Math.min(...durations)}-${Math.max(...durations)} ms (the policy answers at ${POLICY_MS}); backend accepted ${backend.accepted()}`);
  });

  it('half-closes: the request and its FIN wait for the late pick, and the whole answer comes back', async () => {
    const backend = await server(answerAtEnd(BODY));
    const watched = await startWatched(['-c', poolConfig({ backends: [backend.address], policy: latePolicy(POLICY_MS) }), '-v']);

    const asked = await within(Promise.all(range(CLIENTS).map((i) => ask(watched.port, 50, requestFor(i)))), 15_000, 'every client gets its answer');
    asked.forEach(({ answer }, i) => expect(sha256(answer)).toBe(sha256(answerTo(requestFor(i), BODY))));
    const clients = asked.map((a) => a.address);
    const records = await recordsOf(watched, clients);
    records.forEach((record, i) => {
      expect(record).toMatchObject({ backend: backend.address, bytes_up: requestFor(i).length, bytes_down: answerTo(requestFor(i), BODY).length, reason: 'client_closed' });
      expect(record.duration_ms).toBeGreaterThanOrEqual(POLICY_MS - 1); // timers and record times are whole milliseconds
    });

    const afterwards = await servedAfterwards(watched, (r) => answerTo(r, BODY));
    expect(messages(watched, 'policy failed')).toEqual([]);
    expectOneRecordEach(watched, [...clients, ...afterwards]);
    await expectAtRest(watched);
  });
});

describe('2. a client that goes while the connect is in flight', () => {
  it('resets: each connection ends as client_closed long before connect_timeout, its connect torn down and its slot given back', async () => {
    const held = await children.held({ backlog: 1, body: BODY });
    const watched = await startWatched(['-c', poolConfig({ backends: [held.address], connectTimeout: '5s', retries: 0 }), '-v']);

    const clients = await within(Promise.all(range(CLIENTS).map(() => resetAfter(watched.port, 100, { after: takenUp(watched) }))), 10_000, 'every client resets');
    const records = await recordsOf(watched, clients);
    for (const record of records) {
      expect(record).toMatchObject({ listener: 'web', backend: held.address, bytes_up: 0, bytes_down: 0, reason: 'client_closed' });
      expect(record.duration_ms).toBeLessThan(1_000); // connect_timeout is 5 s
    }
    expect(messages(watched, 'connect failed')).toEqual([]);
    expect(messages(watched, 'backend connected')).toEqual([]);
    // No connect is left pending (a pending connect holds a socket), and none counted as a failure.
    await expectAtRest(watched);
    const status = await watched.admin.status();
    expect(status.pools[0]?.backends[0]).toMatchObject({ address: held.address, state: 'up', active: 0, failures: 0 });
    expect(metricSum(await watched.admin.metrics(), 'rxlb_connect_failures_total')).toBe(0);

    // Once the backend accepts again, rxlb connects to it as before.
    await held.release();
    await Promise.all(held.fillers.map((port) => held.acceptedFrom(port)));
    const afterwards = await servedAfterwards(watched, (r) => answerTo(r, BODY));
    expect(held.accepted).toHaveLength(held.fillers.length + afterwards.length);
    expectOneRecordEach(watched, [...clients, ...afterwards]);
    await expectAtRest(watched);
    const durations = records.map((r) => Number(r.duration_ms));
    console.info(`connect in flight: ${CLIENTS} resets ended after ${Math.min(...durations)}-${Math.max(...durations)} ms (connect_timeout 5000)`);
  });

  it('sends its request and resets in the same instant: the reset is seen all the same, and the connection ends at once', async () => {
    const held = await children.held({ backlog: 1, body: BODY });
    const watched = await startWatched(['-c', poolConfig({ backends: [held.address], connectTimeout: '5s', retries: 0 }), '-v']);

    // Node 20's libuv reads a reset that comes with data as the data and an end of stream,
    // as it would a half-close; rxlb must still see the reset, and not keep the request
    // for a backend until the connect completes or times out.
    const clients = await within(
      Promise.all(range(CLIENTS).map((i) => resetAfter(watched.port, 100, { after: takenUp(watched), last: requestFor(i) }))),
      10_000,
      'every client resets',
    );
    const records = await recordsOf(watched, clients);
    for (const record of records) {
      expect(record).toMatchObject({ backend: held.address, bytes_up: 0, bytes_down: 0, reason: 'client_closed' });
      expect(record.duration_ms).toBeLessThan(1_000); // connect_timeout is 5 s
    }
    expect(messages(watched, 'connect failed')).toEqual([]);
    expect(messages(watched, 'backend connected')).toEqual([]);
    await expectAtRest(watched);
    expect((await watched.admin.status()).pools[0]?.backends[0]).toMatchObject({ active: 0, failures: 0 });

    // Once the backend accepts again, it gets only the new clients' connections: no request of a client that went.
    await held.release();
    await Promise.all(held.fillers.map((port) => held.acceptedFrom(port)));
    const afterwards = await servedAfterwards(watched, (r) => answerTo(r, BODY));
    expect(held.accepted).toHaveLength(held.fillers.length + afterwards.length);
    expectOneRecordEach(watched, [...clients, ...afterwards]);
    await expectAtRest(watched);
    const durations = records.map((r) => Number(r.duration_ms));
    console.info(`request and reset together while the connect hangs: ${CLIENTS} ended after ${Math.min(...durations)}-${Math.max(...durations)} ms`);
  });

  it('half-closes: the request and its FIN wait for the connect, which completes once the backend accepts, and the whole answer comes back', async () => {
    // A queue deep enough for every client's connect once the backend accepts again.
    const held = await children.held({ backlog: 256, body: BODY });
    const watched = await startWatched(['-c', poolConfig({ backends: [held.address], connectTimeout: '5s', retries: 0 }), '-v']);

    let answered = 0;
    const asking = Promise.all(
      range(CLIENTS).map(async (i) => {
        const result = await ask(watched.port, 100, requestFor(i));
        answered += 1;
        return result;
      }),
    );
    await pause(600); // the scenario: the backend accepts nothing for 500 ms after the clients' FINs
    expect(answered).toBe(0);
    expect(messages(watched, 'backend connected')).toEqual([]);
    const releasedAt = performance.now();
    await held.release();
    const asked = await within(asking, 10_000, 'every client gets its answer');
    const answeredIn = performance.now() - releasedAt;
    asked.forEach(({ answer }, i) => expect(sha256(answer)).toBe(sha256(answerTo(requestFor(i), BODY))));
    const clients = asked.map((a) => a.address);
    const records = await recordsOf(watched, clients);
    records.forEach((record, i) => {
      expect(record).toMatchObject({ backend: held.address, bytes_up: requestFor(i).length, bytes_down: answerTo(requestFor(i), BODY).length, reason: 'client_closed' });
      expect(record.duration_ms).toBeGreaterThanOrEqual(500);
      expect(record.duration_ms).toBeLessThan(5_000);
    });
    expect(messages(watched, 'connect failed')).toEqual([]);
    expect(held.accepted).toHaveLength(held.fillers.length + CLIENTS);

    const afterwards = await servedAfterwards(watched, (r) => answerTo(r, BODY));
    expectOneRecordEach(watched, [...clients, ...afterwards]);
    await expectAtRest(watched);
    console.info(`connect in flight: ${CLIENTS} half-closed clients answered within ${answeredIn.toFixed(0)} ms of the backend's release (their SYNs were dropped until then)`);
  });
});

describe('3. a client that goes around the hand-over to the copy', () => {
  it.each([
    { policy: 'round-robin', label: 'round-robin' },
    { policy: busyPolicy(2), label: 'a policy that works 2 ms per pick' },
  ])('resets at moments spread around the connect ($label), among clients that do not: one record each, and nothing leaks', async ({ policy, label }) => {
    let open = 0;
    let allClosed: (() => void) | undefined;
    // The reset of a client that waits for the backend's accept: rxlb's connect has just
    // completed, and rxlb hands the client over to the copy at about this moment.
    let atBackendAccept: (() => void) | undefined;
    const handle = answerAtEnd(BODY);
    const backend = await server((socket) => {
      open += 1;
      socket.on('close', () => {
        open -= 1;
        if (open === 0) allClosed?.();
      });
      const reset = atBackendAccept;
      atBackendAccept = undefined;
      reset?.();
      handle(socket);
    });
    const watched = await startWatched(['-c', poolConfig({ backends: [backend.address], policy }), '-v']);

    // Resetting and talking clients in a seeded order, one at a time, so that each reset
    // lands where its timing says and rxlb's accept never lags behind. Half the resets
    // come 0-5 ms after connecting; the other half at the backend's accept of rxlb's
    // connect: at once, on the next turn of the event loop, or 1 ms later.
    const random = seeded(3);
    const TALKERS = 100;
    const TIMINGS = ['0ms', '1ms', '2ms', '3ms', '4ms', '5ms', 'accept', 'accept+turn', 'accept+1ms'] as const;
    type Timing = (typeof TIMINGS)[number];
    const plan = range(CLIENTS + TALKERS)
      .map((i) => ({ i, key: random() }))
      .sort((x, y) => x.key - y.key)
      .map(({ i }) => i);
    const resetting: { address: string; timing: Timing }[] = [];
    const talked: { i: number; address: string; answer: Buffer }[] = [];
    for (const i of plan) {
      if (i >= CLIENTS) {
        talked.push({ i, ...(await within(ask(watched.port, 0, requestFor(i)), 5_000, `talker ${i} is answered`)) });
        continue;
      }
      const timing: Timing = i % 2 === 0 ? TIMINGS[Math.floor(random() * 6)]! : TIMINGS[6 + Math.floor(random() * 3)]!;
      // Armed before connecting: the backend may accept before the client hears it is connected.
      const accepted = timing.startsWith('accept')
        ? new Promise<void>((resolve) => {
            atBackendAccept = timing === 'accept+turn' ? () => setImmediate(resolve) : resolve;
          })
        : undefined;
      const after = accepted && ((): Promise<void> => accepted);
      const ms = timing === 'accept+1ms' ? 1 : timing.endsWith('ms') ? Number.parseInt(timing, 10) : 0;
      resetting.push({ address: await within(resetAfter(watched.port, ms, { request: requestFor(i), after }), 5_000, `resetting client ${i} closes`), timing });
    }
    for (const { i, answer } of talked) expect(sha256(answer)).toBe(sha256(answerTo(requestFor(i), BODY)));
    expect(talked).toHaveLength(TALKERS);

    const talkRecords = await recordsOf(watched, talked.map((t) => t.address));
    const summary = (r: LogRecord): Record<string, unknown> => ({ client: r.client, backend: r.backend, bytes_up: r.bytes_up, bytes_down: r.bytes_down, reason: r.reason });
    expect(talkRecords.map(summary)).toEqual(
      talked.map(({ i, address }) => ({ client: address, backend: backend.address, bytes_up: requestFor(i).length, bytes_down: answerTo(requestFor(i), BODY).length, reason: 'client_closed' })),
    );
    const opened = new Set(messages(watched, 'connection opened').map((r) => String(r.client)));
    const resetRecords = await recordsOf(watched, resetting.map((r) => r.address).filter((c) => opened.has(c)));
    for (const record of resetRecords) expect(record).toMatchObject({ backend: backend.address, reason: 'client_closed' });

    // Where each reset landed, per timing, for the report: in rxlb's accept queue (unseen),
    // during set-up (no `backend connected`), or once connected.
    type Landed = 'unseen' | 'set_up' | 'connected';
    const connected = new Set(messages(watched, 'backend connected').map((r) => String(r.client)));
    const landed: Record<string, Record<Landed, number>> = {};
    for (const { address, timing } of resetting) {
      const where: Landed = !opened.has(address) ? 'unseen' : connected.has(address) ? 'connected' : 'set_up';
      (landed[timing] ??= { unseen: 0, set_up: 0, connected: 0 })[where] += 1;
    }

    if (open > 0) await within(new Promise<void>((resolve) => (allClosed = resolve)), 5_000, 'every backend socket closes');
    const afterwards = await servedAfterwards(watched, (r) => answerTo(r, BODY));
    const unseen = expectOneRecordEachSeen(watched, [...resetting.map((r) => r.address), ...talked.map((t) => t.address), ...afterwards]);
    expect(unseen.every((c) => resetting.some((r) => r.address === c))).toBe(true); // every talker was seen
    await expectAtRest(watched);
    const total = (where: Landed): number => Object.values(landed).reduce((n, l) => n + l[where], 0);
    console.info(
      `hand-over, ${label}: ${CLIENTS} resets landed unseen ${total('unseen')}, in set-up ${total('set_up')}, once connected ${total('connected')}; by timing ${JSON.stringify(landed)}; ${TALKERS} talkers answered byte-exact`,
    );
  });
});

describe('4. a client that goes while a 503 is written', () => {
  const config = (backend: string): string => poolConfig({ backends: [backend], retries: 0, onNoBackend: 'http-503' });

  it('no backend reachable (refused): a reset as the 503 arrives ends the lingering close at once, one record each', async () => {
    const refused = `127.0.0.1:${await refusedPort()}`;
    const watched = await startWatched(['-c', config(refused), '-v']);

    const clients = await within(
      Promise.all(range(CLIENTS).map((i) => resetAfter(watched.port, i % 2, { request: HTTP_REQUEST, after: firstByte }))),
      10_000,
      'every client resets',
    );
    for (const record of await recordsOf(watched, clients)) {
      expect(record).toMatchObject({ backend: refused, bytes_up: 0, bytes_down: Buffer.byteLength(RESPONSE_503), reason: 'connect_failed' });
    }
    // A client that stays is given up to 2 s to finish sending (the lingering close); these
    // reset, and rxlb lets go of them at once.
    const startedAt = performance.now();
    await expectAtRest(watched, 1_000);
    const settledIn = performance.now() - startedAt;

    const afterwards = await servedAfterwards(watched, () => Buffer.from(RESPONSE_503));
    expectOneRecordEach(watched, [...clients, ...afterwards]);
    await expectAtRest(watched);
    console.info(`503 to a refused pool: ${CLIENTS} resets; rxlb's sockets at rest ${settledIn.toFixed(0)} ms after the last record`);
  });

  it('no backend up (disabled): the 503 goes out as the client is accepted, and a reset as it arrives ends the lingering close at once', async () => {
    const backend = await server(answerAtEnd(BODY));
    const watched = await startWatched(['-c', config(backend.address), '-v']);
    await watched.admin.post(`/pools/web/backends/${backend.address}/disable`);

    const clients = await within(
      Promise.all(range(CLIENTS).map((i) => resetAfter(watched.port, i % 2, { request: HTTP_REQUEST, after: firstByte }))),
      10_000,
      'every client resets',
    );
    for (const record of await recordsOf(watched, clients)) {
      expect(record).toMatchObject({ backend: null, bytes_up: 0, bytes_down: Buffer.byteLength(RESPONSE_503), reason: 'no_backend' });
    }
    const startedAt = performance.now();
    await expectAtRest(watched, 1_000);
    const settledIn = performance.now() - startedAt;
    expect(metricSum(await watched.admin.metrics(), 'rxlb_connections_rejected_total', { reason: 'no_backend' })).toBe(CLIENTS);

    await watched.admin.post(`/pools/web/backends/${backend.address}/enable`);
    const afterwards = await servedAfterwards(watched, (r) => answerTo(r, BODY));
    expect(backend.accepted()).toBe(afterwards.length);
    expectOneRecordEach(watched, [...clients, ...afterwards]);
    await expectAtRest(watched);
    console.info(`503 with no backend up: ${CLIENTS} resets; rxlb's sockets at rest ${settledIn.toFixed(0)} ms after the last record`);
  });

  it('resets at once or 1 ms after sending: at most one record each, exactly one for every client rxlb took up, nothing held', async () => {
    const refused = `127.0.0.1:${await refusedPort()}`;
    const watched = await startWatched(['-c', config(refused), '-v']);

    const clients = await within(Promise.all(range(CLIENTS).map((i) => resetAfter(watched.port, i % 2, { request: HTTP_REQUEST }))), 10_000, 'every client resets');
    // What rxlb saw of each depends on where the reset landed: in its accept queue (then
    // nothing), while it connected (client_closed), or as the 503 went out (connect_failed).
    await expectAtRest(watched, 1_000);
    const afterwards = await servedAfterwards(watched, () => Buffer.from(RESPONSE_503));
    const reasons: Record<string, number> = {};
    for (const record of closedRecords(watched.rxlb).filter((r) => clients.includes(String(r.client)))) {
      expect(record).toMatchObject({ backend: refused, bytes_up: 0 });
      expect(['connect_failed', 'client_closed']).toContain(record.reason);
      reasons[String(record.reason)] = (reasons[String(record.reason)] ?? 0) + 1;
    }
    const unseen = expectOneRecordEachSeen(watched, [...clients, ...afterwards]);
    await expectAtRest(watched);
    console.info(`resets right after sending: ${JSON.stringify(reasons)}; ${unseen.length} of ${CLIENTS} reset in rxlb's accept queue, unseen`);
  });

  it('half-closes: each client gets the exact 503 bytes', async () => {
    const refused = `127.0.0.1:${await refusedPort()}`;
    const watched = await startWatched(['-c', config(refused), '-v']);

    const asked = await within(Promise.all(range(CLIENTS).map(() => ask(watched.port, 0, HTTP_REQUEST))), 10_000, 'every client gets its answer');
    for (const { answer } of asked) expect(answer.toString('latin1')).toBe(RESPONSE_503);
    const clients = asked.map((a) => a.address);
    for (const record of await recordsOf(watched, clients)) {
      expect(record).toMatchObject({ backend: refused, bytes_up: 0, bytes_down: Buffer.byteLength(RESPONSE_503), reason: 'connect_failed' });
    }
    await expectAtRest(watched, 1_000); // each client's FIN and rxlb's end close the socket: nothing lingers

    const afterwards = await servedAfterwards(watched, () => Buffer.from(RESPONSE_503));
    expectOneRecordEach(watched, [...clients, ...afterwards]);
    await expectAtRest(watched);
  });
});

describe('5. the reported case: a reset while the connect waits on a full accept queue', () => {
  it('ends the connection at the reset: nothing connects when the queue frees, and /status shows nothing active', async () => {
    const held = await children.held({ backlog: 1, body: BODY });
    const watched = await startWatched(['-c', poolConfig({ backends: [held.address], connectTimeout: '5s', retries: 0 }), '-vv']);

    const client = await connectClient(watched.port);
    const resetDue = pause(200); // the scenario: the client resets 200 ms after connecting
    // rxlb logs the attempt once its connect is under way (its SYN sent, and dropped).
    await watched.rxlb.waitFor((r) => r.msg === 'connecting' && r.client === client.address, 5_000);
    await resetDue;
    const resetAt = performance.now();
    client.socket.resetAndDestroy();
    // A twin connect from here, started with the reset: whenever rxlb's connect would have
    // completed, this one completes after it (both wait on the same SYN retransmission
    // schedule, and rxlb's began 200 ms earlier).
    const twin = net.connect({ host: '127.0.0.1', port: held.port });
    twin.on('error', () => undefined);
    const twinConnected = within(
      new Promise<void>((resolve) => twin.once('connect', () => resolve())),
      10_000,
      'the twin connect completes',
    );
    const record = await watched.rxlb.waitFor((r) => r.msg === 'connection closed' && r.client === client.address, 5_000);
    const endedIn = performance.now() - resetAt;
    expect(record).toMatchObject({ listener: 'web', backend: held.address, bytes_up: 0, bytes_down: 0, reason: 'client_closed' });
    expect(record.duration_ms).toBeLessThan(1_000);

    await pause(2_000); // the scenario: two seconds later the backend's queue frees
    await held.release();
    await twinConnected;
    // The backend accepts in queue order: once it has the twin, it would have had rxlb's.
    await held.acceptedFrom(twin.localPort!);
    const ascending = (ports: readonly number[]): number[] => [...ports].sort((x, y) => x - y);
    expect(ascending(held.accepted)).toEqual(ascending([...held.fillers, twin.localPort!]));
    twin.destroy();

    const afterwards = await servedAfterwards(watched, (r) => answerTo(r, BODY));
    const trail = watched.rxlb.records.filter((r) => r.client === client.address).map((r) => ({ msg: r.msg, reason: r.reason }));
    expect(trail).toEqual([
      { msg: 'connection opened', reason: undefined },
      { msg: 'connecting', reason: undefined },
      { msg: 'connection closed', reason: 'client_closed' },
    ]);
    const status = await watched.admin.status();
    expect(status.listeners.map((l) => l.active)).toEqual([0]);
    expect(status.pools[0]?.backends.map((b) => ({ active: b.active, failures: b.failures }))).toEqual([{ active: 0, failures: 0 }]);
    expectOneRecordEach(watched, [client.address, ...afterwards]);
    await expectAtRest(watched);
    console.info(`reported case: closed ${endedIn.toFixed(1)} ms after the reset (duration_ms ${String(record.duration_ms)}); the twin connected once the queue freed, rxlb's abandoned connect did not`);
  });
});
