import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adminBase, post } from './admin-harness.js';
import { refusedPort, startRxlb, testServers, writeTemp } from './harness.js';

testServers();

const configText = (admin: string, token: string): string =>
  `[admin]\nlisten = "${admin}"\ntoken = "${token}"\n\n[[listener]]\nbind = "127.0.0.1:0"\npool = "web"\n\n[pool.web]\n[[pool.web.backend]]\naddress = "127.0.0.1:9"\n`;

describe('admin API across a reload', () => {
  it('takes a new token at once, and says that a new admin address needs a restart', async () => {
    const path = writeTemp(configText('127.0.0.1:0', 'old'));
    const rxlb = startRxlb(['-c', path]);
    const base = await adminBase(rxlb);
    const elsewhere = `127.0.0.1:${await refusedPort()}`;
    writeFileSync(path, configText(elsewhere, 'new'));

    const changes = ['admin changed (listen): needs a restart', 'admin changed (token)'];
    expect((await post(base, '/reload', 'old')).body).toEqual({ result: 'reloaded', changes });
    expect(await rxlb.waitFor((r) => r.msg === 'config reloaded')).toMatchObject({ changes });

    // the API stays where it was, and from now on takes only the new token
    expect((await post(base, '/reload', 'old')).status).toBe(401);
    expect((await post(base, '/reload', 'new')).body).toEqual({ result: 'reloaded', changes: [] });
    await expect(fetch(`http://${elsewhere}/healthz`)).rejects.toThrow();
  });
});
