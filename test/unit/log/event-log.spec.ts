import { describe, expect, it } from 'vitest';
import { logEvent } from '../../../src/log/event-log.js';
import { createLogger } from '../../../src/log/logger.js';
import type { BalancerEvent } from '../../../src/streams/balancer.js';

/** The JSON records `events` make at `level`. */
function records(events: readonly BalancerEvent[], level: 'info' | 'warn' = 'info'): unknown[] {
  const lines: string[] = [];
  const log = createLogger({ level, format: 'json', sink: { write: (line) => lines.push(line) }, now: () => new Date(0) });
  for (const event of events) logEvent(log, event);
  return lines.flatMap((chunk) => chunk.split('\n').filter((l) => l !== '')).map((l) => JSON.parse(l) as unknown);
}

const time = '1970-01-01T00:00:00.000Z';

describe('logEvent for a PROXY listener', () => {
  it('writes a bad header as a warning with its listener, peer, what was wrong and how many it stands for', () => {
    const event: BalancerEvent = { type: 'bad-header', listener: 'edge', peer: '192.0.2.7:40000', detail: 'PROXY v2: version 3; only version 2 exists', count: 12 };
    expect(records([event], 'warn')).toEqual([
      { time, level: 'warn', msg: 'bad PROXY header', listener: 'edge', peer: '192.0.2.7:40000', detail: 'PROXY v2: version 3; only version 2 exists', count: 12 },
    ]);
  });

  it("names the header's client, the TCP peer and the refusal's detail in `connection closed`", () => {
    const closed: BalancerEvent = {
      type: 'conn-closed',
      listener: 'edge',
      pool: 'web',
      client: '192.0.2.1:56324',
      peer: '10.0.0.5:41000',
      backend: '10.0.0.1:80',
      bytesUp: 37,
      bytesDown: 5,
      durationMs: 3,
      reason: 'backend_closed',
      uniqueId: 'deadbeef',
    };
    const refused: BalancerEvent = {
      type: 'conn-closed',
      listener: 'edge',
      pool: 'web',
      client: '10.0.0.5:41001',
      backend: undefined,
      bytesUp: 0,
      bytesDown: 0,
      durationMs: 5000,
      reason: 'preread_timeout',
      detail: 'no whole PROXY header within 5s (9 bytes received)',
    };
    expect(records([closed, refused])).toEqual([
      { time, level: 'info', msg: 'connection closed', listener: 'edge', client: '192.0.2.1:56324', peer: '10.0.0.5:41000', backend: '10.0.0.1:80', bytes_up: 37, bytes_down: 5, duration_ms: 3, reason: 'backend_closed', unique_id: 'deadbeef' },
      {
        time,
        level: 'info',
        msg: 'connection closed',
        listener: 'edge',
        client: '10.0.0.5:41001',
        backend: null,
        bytes_up: 0,
        bytes_down: 0,
        duration_ms: 5000,
        reason: 'preread_timeout',
        detail: 'no whole PROXY header within 5s (9 bytes received)',
      },
    ]);
  });
});
