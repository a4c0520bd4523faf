import { describe, expect, it } from 'vitest';
import { connect, echo, listeningPort, readLine, startRxlb, testServers, writeTemp } from './harness.js';

const server = testServers();

/** A config file with one listener in front of `backend`, and a long grace so the drain lasts. */
const configFor = (backend: string): string =>
  writeTemp(`[global]\nshutdown_grace = "60s"\n\n[[listener]]\nbind = "127.0.0.1:0"\npool = "web"\n\n[pool.web]\n[[pool.web.backend]]\naddress = "${backend}"\n`);

describe('signals', () => {
  it('answers a SIGHUP that comes while draining with a record that nothing was reloaded', async () => {
    const backend = await server(echo);
    const rxlb = startRxlb(['-c', configFor(backend.address)]);
    const client = await connect(await listeningPort(rxlb));
    client.write('held\n');
    expect(await readLine(client)).toBe('held'); // connected: the drain waits for it
    rxlb.child.kill('SIGTERM');
    await rxlb.waitFor((r) => r.msg === 'shutting down');
    rxlb.child.kill('SIGHUP');
    const refused = await rxlb.waitFor((r) => r.msg === 'config reload failed');
    expect(refused).toEqual({ time: expect.any(String), level: 'warn', msg: 'config reload failed', signal: 'SIGHUP', errors: ['rxlb is shutting down: nothing was reloaded'] });
    client.end();
    expect(await rxlb.exited).toBe(0);
    expect(rxlb.records.map((r) => r.msg).filter((m) => m.startsWith('config') || m === 'reloading config')).toEqual(['reloading config', 'config reload failed']);
  });

  it('exits 130 at a second SIGINT, cutting open connections without a record for them', async () => {
    const backend = await server(echo);
    const rxlb = startRxlb(['-c', configFor(backend.address)]);
    const client = await connect(await listeningPort(rxlb));
    client.write('held\n');
    expect(await readLine(client)).toBe('held');
    // cut: an end (the client is half-open, so it does not close by itself) or a reset
    const cut = new Promise<void>((resolve) => {
      client.once('end', resolve);
      client.once('error', () => resolve());
    });
    rxlb.child.kill('SIGINT');
    await rxlb.waitFor((r) => r.msg === 'shutting down');
    rxlb.child.kill('SIGINT');
    expect(await rxlb.exited).toBe(130);
    await cut;
    client.destroy();
    expect(rxlb.records.filter((r) => r.msg === 'connection closed')).toEqual([]);
  });
});
