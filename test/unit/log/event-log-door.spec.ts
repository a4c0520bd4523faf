import { describe, expect, it } from 'vitest';
import { logEvent } from '../../../src/log/event-log.js';
import type { LevelName } from '../../../src/log/levels.js';
import { createLogger } from '../../../src/log/logger.js';
import type { BalancerEvent } from '../../../src/streams/balancer.js';
import type { ConnClosed } from '../../../src/streams/state/events.js';

/** The JSON records `events` make at `level`, without their time. */
function records(level: LevelName, events: readonly BalancerEvent[]): Record<string, unknown>[] {
  const lines: string[] = [];
  const log = createLogger({ level, format: 'json', sink: { write: (line: string) => void lines.push(line) }, now: () => new Date(0) });
  for (const event of events) logEvent(log, event);
  return lines.map((line) => {
    const { time: _time, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return rest;
  });
}

const closed = (reason: ConnClosed['reason'], extra: Partial<ConnClosed> = {}): ConnClosed => ({
  type: 'conn-closed',
  listener: 'edge',
  pool: '',
  client: '192.0.2.1:40000',
  backend: undefined,
  bytesUp: 0,
  bytesDown: 0,
  durationMs: 0,
  reason,
  ...extra,
});

describe('logEvent at the door', () => {
  it('writes a denied client at debug only, and the other refusals at info with what the door learned', () => {
    const events = [closed('denied'), closed('rate_limit'), closed('limit'), closed('no_route', { sni: 'other.example' })];
    expect(records('info', events).map((r) => [r.level, r.reason, r.sni])).toEqual([
      ['info', 'rate_limit', undefined],
      ['info', 'limit', undefined],
      ['info', 'no_route', 'other.example'],
    ]);
    expect(records('debug', events).map((r) => [r.level, r.reason])).toEqual([
      ['debug', 'denied'],
      ['info', 'rate_limit'],
      ['info', 'limit'],
      ['info', 'no_route'],
    ]);
  });

  it('names the route and the server name of a routed connection', () => {
    expect(records('info', [closed('client_closed', { pool: 'web', backend: '10.0.0.1:443', sni: 'api.example.com', route: 0 })])).toEqual([
      {
        level: 'info',
        msg: 'connection closed',
        listener: 'edge',
        client: '192.0.2.1:40000',
        backend: '10.0.0.1:443',
        bytes_up: 0,
        bytes_down: 0,
        duration_ms: 0,
        reason: 'client_closed',
        sni: 'api.example.com',
        route: 0,
      },
    ]);
  });

  it('warns that clients are rate limited, even with -q, with the count the warning stands for', () => {
    const warning: BalancerEvent = { type: 'rate-limited', listener: 'edge', client: '192.0.2.1:40000', count: 12 };
    expect(records('warn', [closed('rate_limit'), warning])).toEqual([{ level: 'warn', msg: 'rate limited', listener: 'edge', client: '192.0.2.1:40000', count: 12 }]);
  });
});
