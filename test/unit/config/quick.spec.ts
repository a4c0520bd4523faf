import { describe, expect, it } from 'vitest';
import { quickConfig } from '../../../src/config/quick.js';
import type { Config } from '../../../src/config/types.js';
import { formatIssue } from '../../../src/errors.js';
import { configError, deeplyFrozen, NO_DOOR } from './helpers.js';

describe('quickConfig', () => {
  it('makes listener-1 on 127.0.0.1:0 and pool "default" with the backends in order', () => {
    const expected: Config = {
      source: '<command line>',
      layout: 'quick',
      global: { shutdownGraceMs: 30_000, maxConnections: 0 },
      admin: undefined,
      listeners: [
        { name: 'listener-1', bind: { host: '127.0.0.1', port: 0 }, protocol: 'tcp', pool: 'default', maxConnections: 0, sessionTimeoutMs: 60_000, maxSessions: 0, ...NO_DOOR },
      ],
      pools: [
        {
          name: 'default',
          policy: 'round-robin',
          connectTimeoutMs: 3_000,
          idleTimeoutMs: 600_000,
          retries: 2,
          onNoBackend: 'close',
          proxyProtocol: undefined,
          health: undefined,
          passive: undefined,
          backends: [
            { address: '127.0.0.1:8080', host: '127.0.0.1', port: 8080, origin: '127.0.0.1:8080', weight: 1, maxConnections: 0, backup: false, healthPath: undefined },
            { address: 'localhost:9090', host: 'localhost', port: 9090, origin: 'localhost:9090', weight: 1, maxConnections: 0, backup: false, healthPath: undefined },
          ],
        },
      ],
    };
    const config = quickConfig({ backends: ['127.0.0.1:8080', 'localhost:9090'] });
    expect(config).toEqual(expected);
    expect(deeplyFrozen(config)).toBe(true);
  });

  it('takes --listen, --policy and --udp', () => {
    const config = quickConfig({ backends: ['[::1]:53'], listen: '0.0.0.0:5353', policy: 'least-connections', udp: true });
    expect(config.listeners[0]).toMatchObject({ bind: { host: '0.0.0.0', port: 5353 }, protocol: 'udp', sessionTimeoutMs: 60_000 });
    expect(config.pools[0]?.policy).toBe('least-connections');
    expect(config.pools[0]?.backends.map((b) => b.address)).toEqual(['[::1]:53']);
  });

  it('resolves a relative policy module against the working directory', () => {
    expect(quickConfig({ backends: ['127.0.0.1:1'], policy: './my-policy.js' }).pools[0]?.policy).toBe(`${process.cwd()}/my-policy.js`);
  });

  it('names the argument of each problem, all at once', () => {
    const err = configError(() =>
      quickConfig({ backends: ['127.0.0.1:8080', '127.0.0.1', '127.0.0.1:8080'], listen: 'localhost', policy: 'fastest' }),
    );
    expect(err.issues.map(formatIssue)).toEqual([
      '<command line>: --listen: missing port in "localhost": expected host:port such as "127.0.0.1:80", "[::1]:80" or "localhost:8080"',
      '<command line>: --policy: unknown policy "fastest". Known policies: round-robin, random, least-connections, power-of-two, source-hash, maglev, first, or a module path such as "./my-policy.js"',
      '<command line>: backend[1]: missing port in "127.0.0.1": expected host:port such as "127.0.0.1:80", "[::1]:80" or "localhost:8080"',
      '<command line>: backend[2]: duplicate backend 127.0.0.1:8080 in this pool (also at backend[0])',
    ]);
  });

  it('needs at least one backend', () => {
    expect(configError(() => quickConfig({ backends: [] })).issues).toEqual([
      { file: '<command line>', path: 'backend', message: 'at least one backend is required, as in: rxlb 127.0.0.1:8080' },
    ]);
  });
});
