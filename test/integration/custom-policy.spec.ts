import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestServer, killAll, listeningPort, named, readLine, runRxlb, startRxlb, startServer } from './harness.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/cidr-policy.js', import.meta.url));

const servers: TestServer[] = [];
const clients: net.Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await killAll();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const dir = mkdtempSync(join(tmpdir(), 'rxlb-policy-'));
let files = 0;
function file(name: string, text: string): string {
  const path = join(dir, `${(files += 1)}-${name}`);
  writeFileSync(path, text);
  return path;
}

function poolConfig(policy: string, backends: readonly string[]): string {
  return [
    '[[listener]]',
    'name = "web"',
    'bind = "127.0.0.1:0"',
    'pool = "web"',
    '',
    '[pool.web]',
    `policy = ${JSON.stringify(policy)}`,
    ...backends.flatMap((address) => ['', '[[pool.web.backend]]', `address = "${address}"`]),
    '',
  ].join('\n');
}

/** Connects from `localAddress` (any 127/8 address is loopback on Linux) and reads the backend's name. */
async function nameFrom(localAddress: string, port: number): Promise<string> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
  clients.push(socket);
  return readLine(socket);
}

const tally = (names: readonly string[]): Record<string, number> => names.reduce<Record<string, number>>((t, n) => ({ ...t, [n]: (t[n] ?? 0) + 1 }), {});

describe('a custom policy module from the CLI (examples/cidr-policy.js)', () => {
  it('routes real connections as its marble test says: 127.0.0.2/31 to the even backends, others by least connections over all', async () => {
    const backends = await Promise.all(['b0', 'b1', 'b2'].map((name) => startServer(named(name))));
    servers.push(...backends);
    const rxlb = startRxlb(['-c', file('cidr.toml', poolConfig(EXAMPLE, backends.map((b) => b.address)))]);
    const port = await listeningPort(rxlb, 'web');

    // Inside the network, connections held open: least connections among b0 and b2 only.
    const inside: string[] = [];
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3']) inside.push(await nameFrom(from, port));
    expect(tally(inside)).toEqual({ b0: 2, b2: 2 });

    // Outside it: least connections over all three, so b1 (idle) takes the next two.
    const outside = [await nameFrom('127.0.0.1', port), await nameFrom('127.0.0.1', port)];
    expect(outside).toEqual(['b1', 'b1']);

    // All three now carry two; inside clients still never reach b1.
    for (let i = 0; i < 4; i += 1) expect(['b0', 'b2']).toContain(await nameFrom('127.0.0.2', port));
    expect(rxlb.stderr()).toBe('');
  });

  it('check accepts the example config as it is', async () => {
    const example = fileURLToPath(new URL('../../examples/cidr-policy.toml', import.meta.url));
    const { code, stdout, stderr } = await runRxlb(['check', '-c', example]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`policy ${EXAMPLE}`);
  });
});

describe('a policy module that cannot be used', () => {
  it('missing: check exits 1 naming pool.<name>.policy, the path and why', async () => {
    const missing = join(dir, 'no-such-policy.js');
    const { code, stderr } = await runRxlb(['check', '-c', file('missing.toml', poolConfig(missing, ['127.0.0.1:9']))]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/missing\.toml:7:1: pool\.web\.policy: cannot load policy module .*no-such-policy\.js: no such file/);
  });

  it('a wrong export: check exits 1 saying what was found, for every pool that names it', async () => {
    const numeric = file('numeric.js', 'export default 42;\n');
    const named = file('named.js', 'export const policy = (requests$) => requests$;\n');
    const config = file(
      'wrong.toml',
      [
        poolConfig(numeric, ['127.0.0.1:9']),
        '[pool.other]',
        `policy = ${JSON.stringify(named)}`,
        '[[pool.other.backend]]',
        'address = "127.0.0.1:9"',
        '',
      ].join('\n'),
    );
    const { code, stderr } = await runRxlb(['check', '-c', config]);
    expect(code).toBe(1);
    expect(stderr).toContain(`pool.web.policy: cannot load policy module ${numeric}: its default export is a number (42), not a policy operator function`);
    expect(stderr).toContain(`pool.other.policy: cannot load policy module ${named}: it has no default export (it exports policy)`);
    expect(stderr.trim().split('\n')).toHaveLength(2);
  });

  it('a factory instead of an operator: rxlb refuses to start, exit 1', async () => {
    const factory = file('factory.js', 'export default function makePolicy() { return (requests$) => requests$; }\n');
    const { code, stderr } = await runRxlb(['-c', file('factory.toml', poolConfig(factory, ['127.0.0.1:9']))]);
    expect(code).toBe(1);
    expect(stderr).toContain(`pool.web.policy: cannot load policy module ${factory}: its default export looks like a policy factory`);
  });

  it("an import it cannot resolve: the module's own error, and where its imports are looked for", async () => {
    // outside any project that has rxlb installed, so 'rxlb' cannot be found from there
    const lonely = file('lonely.js', "import { roundRobin } from 'rxlb';\nexport default roundRobin();\n");
    const { code, stderr } = await runRxlb(['check', '-c', file('lonely.toml', poolConfig(lonely, ['127.0.0.1:9']))]);
    expect(code).toBe(1);
    expect(stderr).toContain(`pool.web.policy: cannot load policy module ${lonely}: Cannot find package 'rxlb'`);
    expect(stderr).toContain('npm install rxlb rxjs');
  });
});

describe('a CommonJS policy module', () => {
  it('routes by module.exports, or by exports.default as TypeScript compiles export default; require(\'rxlb\') works', async () => {
    // rxlb and rxjs installed next to the modules, as the README asks
    const project = mkdtempSync(join(tmpdir(), 'rxlb-cjs-'));
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(fileURLToPath(new URL('../..', import.meta.url)), join(project, 'node_modules', 'rxlb'), 'dir');
    symlinkSync(fileURLToPath(new URL('../../node_modules/rxjs', import.meta.url)), join(project, 'node_modules', 'rxjs'), 'dir');
    // each picks the last candidate, which no built-in policy does every time
    const last = "const { map } = require('rxjs');\nconst last = (requests) => requests.pipe(map((request) => ({ request, backend: request.candidates[request.candidates.length - 1] })));\n";
    writeFileSync(join(project, 'plain.cjs'), `${last}module.exports = last;\n`);
    writeFileSync(join(project, 'compiled.cjs'), `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n${last}exports.default = last;\n`);
    writeFileSync(join(project, 'library.cjs'), "const { leastConnections } = require('rxlb');\nmodule.exports = leastConnections();\n");
    const backends = await Promise.all(['b0', 'b1'].map((name) => startServer(named(name))));
    servers.push(...backends);
    for (const module of ['plain.cjs', 'compiled.cjs']) {
      const config = join(project, `${module}.toml`);
      writeFileSync(config, poolConfig(`./${module}`, backends.map((b) => b.address)));
      const rxlb = startRxlb(['-c', config]);
      const port = await listeningPort(rxlb, 'web');
      expect([await nameFrom('127.0.0.1', port), await nameFrom('127.0.0.1', port), await nameFrom('127.0.0.1', port)]).toEqual(['b1', 'b1', 'b1']);
      for (const c of clients.splice(0)) c.destroy();
      expect(await rxlb.stop()).toBe(0);
      expect(rxlb.stderr()).toBe('');
    }
    const library = join(project, 'library.toml');
    writeFileSync(library, poolConfig('./library.cjs', ['127.0.0.1:9']));
    const { code, stdout, stderr } = await runRxlb(['check', '-c', library]);
    expect([code, stderr]).toEqual([0, '']);
    expect(stdout).toContain(`policy ${join(project, 'library.cjs')}`);
  });
});
