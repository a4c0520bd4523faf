import { writeFileSync } from 'node:fs';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type LogRecord, type Rxlb, connect, listeningPort, named, pattern, readAll, readLine, sha256, startRxlb, testServers, writeTemp } from './harness.js';

const server = testServers();

/** A config with one listener in front of `backends`, and maybe a second listener. */
function configText(backends: readonly string[], policy: string, extraListener = false): string {
  const lines = ['[[listener]]', 'name = "web"', 'bind = "127.0.0.1:0"', 'pool = "web"', ''];
  if (extraListener) lines.push('[[listener]]', 'name = "extra"', 'bind = "127.0.0.1:0"', 'pool = "web"', '');
  lines.push('[pool.web]', `policy = "${policy}"`, '');
  for (const b of backends) lines.push('[[pool.web.backend]]', `address = "${b}"`, '');
  return lines.join('\n');
}

/** The name of the backend a new connection through `port` reaches. */
async function probe(port: number): Promise<string> {
  const socket = await connect(port);
  const name = await readLine(socket);
  socket.end();
  socket.resume();
  return name;
}

/** Sends SIGHUP and waits for the outcome record of this reload. */
async function reload(rxlb: Rxlb): Promise<LogRecord> {
  const isOutcome = (r: LogRecord): boolean => r.msg === 'config reloaded' || r.msg === 'config reload failed';
  const before = rxlb.records.filter(isOutcome).length;
  rxlb.child.kill('SIGHUP');
  return rxlb.waitFor((r) => isOutcome(r) && rxlb.records.filter(isOutcome).length > before);
}

interface Transfer {
  readonly socket: net.Socket;
  /** `127.0.0.1:port` as rxlb logs the client. */
  readonly client: string;
  readonly backend: string;
  readonly data: Buffer;
  readonly echoed: Promise<Buffer>;
}

describe('reload under load', () => {
  it('keeps 200 long transfers byte-exact through 10 reloads, while new connections follow each new config', async () => {
    const names = ['b0', 'b1', 'b2', 'b3'];
    const backends = await Promise.all(names.map((name) => server(named(name))));
    const at = (...i: number[]): string[] => i.map((n) => backends[n]!.address);
    const file = writeTemp(configText(at(0, 1), 'round-robin'));
    const rxlb = startRxlb(['-c', file]);
    const port = await listeningPort(rxlb, 'web');

    // 200 connections, each with half of its data sent and echoed before the reloads
    const half = 64 * 1024;
    const transfers: Transfer[] = await Promise.all(
      Array.from({ length: 200 }, async (_, i): Promise<Transfer> => {
        const socket = await connect(port);
        const backend = await readLine(socket);
        const echoed = readAll(socket);
        socket.resume();
        const data = pattern(2 * half, i + 1);
        socket.write(data.subarray(0, half));
        return { socket, client: `127.0.0.1:${socket.localPort}`, backend, data, echoed };
      }),
    );
    expect(new Set(transfers.map((t) => t.backend))).toEqual(new Set(['b0', 'b1']));

    // Ten reloads: backends come and go, policies change, a second listener comes and goes.
    const steps: { backends: number[]; policy: string; extra?: boolean; expect: (name: string) => boolean }[] = [
      { backends: [1, 2], policy: 'least-connections', expect: (n) => n === 'b2' }, // b2 has no connection yet
      { backends: [2, 3], policy: 'round-robin', expect: (n) => n === 'b2' || n === 'b3' },
      { backends: [3], policy: 'first', expect: (n) => n === 'b3' },
      { backends: [0, 3], policy: 'first', extra: true, expect: (n) => n === 'b0' },
      { backends: [2, 0], policy: 'first', extra: true, expect: (n) => n === 'b2' },
      { backends: [1], policy: 'random', expect: (n) => n === 'b1' },
      { backends: [0, 1, 2, 3], policy: 'source-hash', expect: (n) => names.includes(n) },
      { backends: [2], policy: 'maglev', expect: (n) => n === 'b2' },
      { backends: [3, 1], policy: 'power-of-two', expect: (n) => n === 'b3' || n === 'b1' },
      { backends: [0, 1], policy: 'round-robin', expect: (n) => n === 'b0' || n === 'b1' },
    ];
    for (const [i, step] of steps.entries()) {
      writeFileSync(file, configText(at(...step.backends), step.policy, step.extra));
      const outcome = await reload(rxlb);
      expect(outcome.msg, `reload ${i + 1}`).toBe('config reloaded');
      const name = await probe(port);
      expect(step.expect(name), `reload ${i + 1}: ${name}`).toBe(true);
      if (step.extra && !steps[i - 1]?.extra) {
        // the new listener is bound, and serves the same pool
        const extraPort = await listeningPort(rxlb, 'extra');
        expect(step.expect(await probe(extraPort))).toBe(true);
      }
    }
    expect(rxlb.records.filter((r) => r.msg === 'listening' && r.listener === 'web')).toHaveLength(1); // never rebound

    // Every transfer opened before the reloads finishes, every byte back as sent.
    for (const t of transfers) t.socket.end(t.data.subarray(half));
    const results = await Promise.all(transfers.map(async (t) => sha256(await t.echoed) === sha256(t.data)));
    expect(results.filter((ok) => !ok)).toHaveLength(0);
    const closed = await Promise.all(
      transfers.map((t) => rxlb.waitFor((r) => r.msg === 'connection closed' && r.client === t.client)),
    );
    expect(closed.map((r) => r.reason)).toEqual(transfers.map(() => 'client_closed'));
    expect(closed.map((r) => r.bytes_up)).toEqual(transfers.map((t) => t.data.length));
    expect(closed.map((r) => r.bytes_down)).toEqual(transfers.map((t) => t.data.length + `${t.backend}\n`.length));
    expect(await rxlb.stop()).toBe(0);
  });

  it('on SIGHUP with an invalid file changes nothing, and says what is wrong and where', async () => {
    const [a, b] = await Promise.all([server(named('a')), server(named('b'))]);
    const file = writeTemp(configText([a!.address], 'round-robin'));
    const rxlb = startRxlb(['-c', file]);
    const port = await listeningPort(rxlb);
    const held = await connect(port);
    expect(await readLine(held)).toBe('a');

    writeFileSync(file, configText([a!.address, b!.address], 'round-robin').replace('policy = "round-robin"', 'policy = "round-robin"\nretries = "many"'));
    const failed = await reload(rxlb);
    expect(failed.msg).toBe('config reload failed');
    expect(failed.errors).toEqual([expect.stringMatching(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*pool\\.web\\.retries`))]);
    // the old config still serves: only a, and the open connection still works
    expect([await probe(port), await probe(port)]).toEqual(['a', 'a']);
    held.resume();
    const echoed = readAll(held);
    held.end('still here');
    expect((await echoed).toString()).toBe('still here');
    expect(await rxlb.stop()).toBe(0);
  });

  it('rejects a reload whose new listener cannot bind, keeping every listener of the old config; a moved listener rebinds', async () => {
    const [a] = await Promise.all([server(named('a'))]);
    const taken = await server(named('squatter'));
    const base = configText([a!.address], 'round-robin');
    const file = writeTemp(base);
    const rxlb = startRxlb(['-c', file]);
    const port = await listeningPort(rxlb, 'web');

    const clash = `${base}\n[[listener]]\nname = "second"\nbind = "127.0.0.1:0"\npool = "web"\n\n[[listener]]\nname = "clash"\nbind = "${taken.address}"\npool = "web"\n`;
    writeFileSync(file, clash);
    const failed = await reload(rxlb);
    expect(failed.msg).toBe('config reload failed');
    expect(failed.errors).toEqual([`listener clash: cannot listen on ${taken.address}: address already in use (EADDRINUSE)`]);
    expect(await probe(port)).toBe('a');
    // the socket bound for "second" in the failed attempt was closed again: no record of it
    expect(rxlb.records.filter((r) => r.msg === 'listening').map((r) => r.listener)).toEqual(['web']);

    // moving the listener to another port binds the new one and closes the old one
    const free = await server(named('placeholder'));
    const freePort = free.port;
    await free.close();
    writeFileSync(file, base.replace('bind = "127.0.0.1:0"', `bind = "127.0.0.1:${freePort}"`));
    const moved = await reload(rxlb);
    expect(moved.changes).toEqual([`listener rebound: web tcp 127.0.0.1:0 -> tcp 127.0.0.1:${freePort}`]);
    expect(await probe(freePort)).toBe('a');
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await rxlb.stop()).toBe(0);
  });
});
