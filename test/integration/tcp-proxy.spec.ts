import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  connect,
  echo,
  listeningPort,
  named,
  pattern,
  readAll,
  readLine,
  refusedPort,
  sha256,
  startRxlb,
  testServers,
} from './harness.js';

const server = testServers();

const MiB = 1024 * 1024;

describe('TCP proxying through rxlb (quick mode)', () => {
  it('carries 64 MiB each way at once, byte-exact by hash', async () => {
    const up = pattern(64 * MiB, 1);
    const down = pattern(64 * MiB, 2);
    let upBytes = 0;
    let receivedUp!: Promise<string>;
    const backend = await server((socket) => {
      const hash = createHash('sha256');
      socket.on('data', (chunk: Buffer) => {
        upBytes += chunk.length;
        hash.update(chunk);
      });
      receivedUp = once(socket, 'end').then(() => hash.digest('hex'));
      socket.end(down);
    });
    const rxlb = startRxlb([backend.address]);
    const port = await listeningPort(rxlb);
    const client = await connect(port);
    const downHash = createHash('sha256');
    let downBytes = 0;
    client.on('data', (chunk: Buffer) => {
      downBytes += chunk.length;
      downHash.update(chunk);
    });
    client.end(up);
    await once(client, 'close');
    expect(downBytes).toBe(64 * MiB);
    expect(downHash.digest('hex')).toBe(sha256(down));
    const closed = await rxlb.waitFor((r) => r.msg === 'connection closed');
    expect(await receivedUp).toBe(sha256(up));
    expect(upBytes).toBe(64 * MiB);
    expect(closed).toMatchObject({ backend: backend.address, bytes_up: 64 * MiB, bytes_down: 64 * MiB, listener: 'listener-1' });
  });

  it('carries a half-close from the client: the backend still answers after the client ends', async () => {
    const backend = await server(async (socket) => {
      const request = await readAll(socket);
      socket.end(`got:${request.toString()}`);
    });
    const rxlb = startRxlb([backend.address]);
    const client = await connect(await listeningPort(rxlb));
    client.end('hello');
    expect((await readAll(client)).toString()).toBe('got:hello');
    expect(await rxlb.waitFor((r) => r.msg === 'connection closed')).toMatchObject({ reason: 'client_closed', bytes_up: 5, bytes_down: 9 });
  });

  it('carries a half-close from the backend: the client can still send after the backend ends', async () => {
    let received: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
    const backend = await server((socket) => {
      received = readAll(socket);
      socket.end('bye\n');
    });
    const rxlb = startRxlb([backend.address]);
    const client = await connect(await listeningPort(rxlb));
    const fromBackend = readAll(client);
    expect((await fromBackend).toString()).toBe('bye\n');
    client.end('late data');
    expect((await received).toString()).toBe('late data');
    expect(await rxlb.waitFor((r) => r.msg === 'connection closed')).toMatchObject({ reason: 'backend_closed', bytes_up: 9, bytes_down: 4 });
  });

  it('serves 1,000 concurrent connections, every one byte-exact', async () => {
    const backends = [await server(echo), await server(echo)];
    const rxlb = startRxlb(backends.map((b) => b.address));
    const port = await listeningPort(rxlb);
    const results = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const data = pattern(8 * 1024 + i, i + 7);
        const client = await connect(port);
        const echoed = readAll(client);
        client.end(data);
        return sha256(await echoed) === sha256(data);
      }),
    );
    expect(results.filter(Boolean)).toHaveLength(1000);
    expect(backends.map((b) => b.accepted())).toEqual([500, 500]);
  });

  it('balances round robin and prints the port it picked', async () => {
    const a = await server(named('a'));
    const b = await server(named('b'));
    const rxlb = startRxlb([a.address, b.address]);
    const listening = await rxlb.waitFor((r) => r.msg === 'listening');
    expect(listening).toMatchObject({ protocol: 'tcp', listener: 'listener-1' });
    expect(String(listening.address)).toMatch(/^127\.0\.0\.1:\d+$/);
    const port = await listeningPort(rxlb);
    const names: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const client = await connect(port);
      names.push(await readLine(client));
      client.destroy();
    }
    expect(names).toEqual(['a', 'b', 'a', 'b']);
  });

  it('skips a refused backend, and the client sees no failure', async () => {
    const dead = await refusedPort();
    const live = await server(named('live'));
    const rxlb = startRxlb([`127.0.0.1:${dead}`, live.address, '-v']);
    const port = await listeningPort(rxlb);
    for (let i = 0; i < 4; i += 1) {
      const client = await connect(port);
      expect(await readLine(client)).toBe('live');
      client.end();
      await readAll(client);
    }
    await rxlb.waitFor((r) => r.msg === 'connection closed' && r.client !== undefined && rxlb.records.filter((x) => x.msg === 'connection closed').length === 4);
    const failed = rxlb.records.filter((r) => r.msg === 'connect failed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]).toMatchObject({ backend: `127.0.0.1:${dead}`, reason: 'refused' });
    expect(rxlb.records.filter((r) => r.msg === 'connection closed').map((r) => r.backend)).toEqual(Array(4).fill(live.address));
  });

  it('closes the client when every backend refuses (on_no_backend = "close")', async () => {
    const rxlb = startRxlb([`127.0.0.1:${await refusedPort()}`, `127.0.0.1:${await refusedPort()}`]);
    const client = await connect(await listeningPort(rxlb));
    expect((await readAll(client)).length).toBe(0);
    expect(await rxlb.waitFor((r) => r.msg === 'connection closed')).toMatchObject({ reason: 'connect_failed', bytes_down: 0 });
  });
});
