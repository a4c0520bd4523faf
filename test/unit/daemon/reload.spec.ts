import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { createReloader } from '../../../src/daemon/reload.js';
import type { BalancerEvent, ConfigProposal } from '../../../src/streams/balancer.js';
import { backend, config, pool } from '../../marble/fixtures.js';

const start = config([pool([backend('10.0.0.1:80')])]);
const next = config([pool([backend('10.0.0.2:80')])]);

/** A reloader whose balancer answers each proposal as `answer` says, and what it was offered. */
function harness(load: () => Promise<typeof next>, answer: (p: ConfigProposal) => BalancerEvent) {
  const offered: ConfigProposal[] = [];
  const reloader = createReloader(start, load);
  reloader.config$.subscribe((p) => {
    offered.push(p);
    if (p !== start) reloader.observe(answer(p));
  });
  return { reloader, offered };
}

describe('createReloader', () => {
  it('offers the start config, then one proposal per request, and answers each with its outcome', async () => {
    const { reloader, offered } = harness(
      () => Promise.resolve(next),
      (p) => ({ type: 'reloaded', config: p as typeof next, changes: [{ kind: 'backend', change: 'added', pool: 'web', address: '10.0.0.2:80' }] }),
    );
    expect(await reloader.request()).toEqual({ ok: true, changes: ['backend added: pool.web 10.0.0.2:80'] });
    expect(offered).toEqual([start, next]);
  });

  it('turns a file that does not load into a rejected proposal with every error', async () => {
    const invalid = new ConfigError([{ file: 'rxlb.toml', path: 'pool.web.retries', message: 'must be an integer', line: 4, column: 1 }]);
    const { reloader, offered } = harness(
      () => Promise.reject(invalid),
      (p) => ({ type: 'reload-failed', errors: (p as { errors: readonly string[] }).errors }),
    );
    const result = await reloader.request();
    expect(result).toEqual({ ok: false, errors: ['rxlb.toml:4:1: pool.web.retries: must be an integer'] });
    expect(offered[1]).toEqual({ rejected: true, errors: (result as { errors: readonly string[] }).errors });
  });

  it('once stopped, answers what waits and every later request that nothing was reloaded', async () => {
    const reloader = createReloader(start, () => Promise.resolve(next));
    reloader.config$.subscribe(); // a balancer that no longer answers
    const waiting = reloader.request();
    await new Promise((resolve) => setImmediate(resolve)); // the load is done: it waits for the balancer
    reloader.stop();
    const stopped = { ok: false, errors: ['rxlb is shutting down: nothing was reloaded'], shuttingDown: true };
    expect(await waiting).toEqual(stopped);
    expect(await reloader.request()).toEqual(stopped);
  });
});
