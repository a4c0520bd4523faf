import { describe, expect, it } from 'vitest';
import { formatJson, formatText } from '../../../src/log/format.js';
import { createLogger } from '../../../src/log/logger.js';
import { levelFor } from '../../../src/log/levels.js';

const t = new Date('2026-11-22T04:10:02.113Z');

describe('formatJson', () => {
  it('writes time, level and msg first, then the fields in order, skipping undefined', () => {
    const line = formatJson(t, 'info', 'connection closed', { listener: 'web', backend: null, bytes_up: 78, gone: undefined, ok: true, reason: 'backend_closed' });
    expect(line).toBe(
      '{"time":"2026-11-22T04:10:02.113Z","level":"info","msg":"connection closed","listener":"web","backend":null,"bytes_up":78,"ok":true,"reason":"backend_closed"}\n',
    );
  });

  it('escapes what JSON must escape, so every line parses back to the same values', () => {
    const nasty = 'a"b\\c\nd\u0001e\u2028f\ud800';
    const line = formatJson(t, 'warn', nasty, { [nasty]: nasty, list: ['x', 'y"z'], n: Number.NaN });
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({ time: '2026-11-22T04:10:02.113Z', level: 'warn', msg: nasty, [nasty]: nasty, list: ['x', 'y"z'], n: null });
  });
});

describe('formatText', () => {
  it('writes key=value pairs, quoting values with spaces, quotes or equals signs, and - for null', () => {
    expect(formatText(t, 'info', 'listening', { protocol: 'tcp', address: '127.0.0.1:7070', note: 'a b', eq: 'x=y', backend: null, empty: '' })).toBe(
      '2026-11-22T04:10:02.113Z INFO  listening protocol=tcp address=127.0.0.1:7070 note="a b" eq="x=y" backend=- empty=""\n',
    );
  });

  it('joins a list with "; " and writes an empty one as none', () => {
    expect(formatText(t, 'info', 'config reloaded', { source: 'rxlb.toml', changes: [] })).toBe('2026-11-22T04:10:02.113Z INFO  config reloaded source=rxlb.toml changes=none\n');
    expect(formatText(t, 'info', 'config reloaded', { changes: ['pool added: api', 'pool removed: web'] })).toBe(
      '2026-11-22T04:10:02.113Z INFO  config reloaded changes="pool added: api; pool removed: web"\n',
    );
  });
});

describe('createLogger', () => {
  it('writes only records at or above its level, in order', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'json', sink: { write: (l) => lines.push(l) }, now: () => t });
    log.debug('hidden');
    log.info('shown', { a: 1 });
    log.warn('also');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown', 'also']);
    expect(log.enabled('debug')).toBe(false);
    expect(log.enabled('warn')).toBe(true);
  });

  it('writes announced records at info whatever its level, so -q still says where rxlb listens', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', format: 'json', sink: { write: (l) => lines.push(l) }, now: () => t });
    log.info('hidden');
    log.announce('listening', { address: '127.0.0.1:41093' });
    expect(lines).toEqual(['{"time":"2026-11-22T04:10:02.113Z","level":"info","msg":"listening","address":"127.0.0.1:41093"}\n']);
  });

  it('makes a disabled level the same no-op function, so the hot path pays nothing', () => {
    const log = createLogger({ level: 'warn', format: 'text', sink: { write: () => undefined } });
    expect(log.debug).toBe(log.info);
    expect(log.trace).toBe(log.debug);
  });
});

describe('levelFor', () => {
  it('maps -q and -v counts to levels', () => {
    expect([levelFor(0, true), levelFor(0, false), levelFor(1, false), levelFor(2, false), levelFor(5, false)]).toEqual(['warn', 'info', 'debug', 'trace', 'trace']);
  });
});
