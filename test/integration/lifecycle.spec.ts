import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestServer, connect, echo, killAll, listeningPort, pattern, readAll, runRxlb, sha256, startRxlb, startServer } from './harness.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await killAll();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('process lifecycle', () => {
  it('on SIGTERM stops accepting, lets a transfer in flight finish, then exits 0', async () => {
    const backend = await startServer(echo);
    servers.push(backend);
    const rxlb = startRxlb([backend.address, '-v']);
    const port = await listeningPort(rxlb);
    const data = pattern(4 * 1024 * 1024, 9);
    const client = await connect(port);
    const echoed = readAll(client);
    client.write(data.subarray(0, 1024 * 1024));
    await rxlb.waitFor((r) => r.msg === 'listening');
    rxlb.child.kill('SIGTERM');
    await rxlb.waitFor((r) => r.msg === 'shutting down');
    // No new connections once draining. The port may already serve another test (port 0
    // hands freed ports out again), so rxlb's own records say whether it accepted this.
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('connect', () => (s.destroy(), resolve()));
      s.on('error', () => resolve());
    });
    client.end(data.subarray(1024 * 1024));
    expect(sha256(await echoed)).toBe(sha256(data));
    expect(await rxlb.exited).toBe(0);
    expect(rxlb.records.filter((r) => r.msg === 'connection opened')).toHaveLength(1);
    expect(rxlb.records.filter((r) => r.msg === 'connection closed')).toEqual([
      expect.objectContaining({ reason: 'client_closed', bytes_up: data.length, bytes_down: data.length }),
    ]);
  });

  it('exits 1 with a clear message when the listen address is in use', async () => {
    const squatter = net.createServer().listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const { port } = squatter.address() as net.AddressInfo;
    try {
      const { code, stderr } = await runRxlb(['-l', `127.0.0.1:${port}`, '127.0.0.1:9']);
      expect(code).toBe(1);
      expect(stderr).toBe(`rxlb: listener listener-1: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`);
    } finally {
      squatter.close();
    }
  });

  it('exits 1 and says what to do when given nothing to balance', async () => {
    const { code, stderr } = await runRxlb([]);
    expect(code).toBe(1);
    expect(stderr).toContain('nothing to balance');
  });
});
