import { describe, expect, it } from 'vitest';
import { formatKeyPath, parseKeyPath } from '../../../src/config/key-path.js';
import { createLocator } from '../../../src/config/locate.js';

describe('formatKeyPath / parseKeyPath', () => {
  it.each([
    [['pool', 'web', 'backend', 1, 'address'], 'pool.web.backend[1].address'],
    [['listener', 0, 'pool'], 'listener[0].pool'],
    [['targets', 2, 'address'], 'targets[2].address'],
    [['pool', 'my pool', 'policy'], 'pool."my pool".policy'],
    [['pool', 'a.b', 'backend', 0], 'pool."a.b".backend[0]'],
    [['backend', 1], 'backend[1]'],
    [['--listen'], '--listen'],
    [[], ''],
  ])('%j is written %s and read back', (path, text) => {
    expect(formatKeyPath(path)).toBe(text);
    expect(parseKeyPath(text)).toEqual(path);
  });
});

const SOURCE = `# rxlb
[global]
shutdown_grace = "30s"

[[listener]]
name = "web"
bind = "127.0.0.1:7070"

[[listener]]
  bind = "127.0.0.1:7071"   # indented
pool = "web"

[pool.web]
policy = "round-robin"
health.kind = "tcp"
"quoted key" = 1
description = """
[not.a.header]
fake = 1
"""
tags = [
  "a", # a comment
  "b",
]

[pool.web.passive]
eject_for = "30s"

[[pool.web.backend]]
address = "127.0.0.1:8080"

[[pool.web.backend]]
address = "127.0.0.1:8081"
weight = 2

[pool.web.backend.extra]
x = 1

[pool.api]
backend = [ { address = "127.0.0.1:9000" }, { address = "127.0.0.1:9001", weight = 3 } ]
passive = { eject_for = "1s" }

[[targets]]
address = "127.0.0.1:8001"
[[targets]]
address = "127.0.0.1:8002"
[[targets]]
  address = "127.0.0.1:8003"

[frontend]
bind_on = "127.0.0.1:7070"
[[frontend.backend]]
forward_to = "127.0.0.1:8080"
`;

describe('createLocator', () => {
  const locate = createLocator(SOURCE);

  it.each([
    ['global.shutdown_grace', 3, 1],
    ['listener[0]', 5, 1],
    ['listener[0].name', 6, 1],
    ['listener[0].bind', 7, 1],
    ['listener[1].bind', 10, 3],
    ['listener[1].pool', 11, 1],
    ['pool.web', 13, 1],
    ['pool.web.policy', 14, 1],
    ['pool.web.health.kind', 15, 1],
    ['pool.web.health', 15, 1],
    ['pool.web."quoted key"', 16, 1],
    ['pool.web.tags', 21, 1],
    ['pool.web.passive.eject_for', 27, 1],
    ['pool.web.backend[0].address', 30, 1],
    ['pool.web.backend[1]', 32, 1],
    ['pool.web.backend[1].address', 33, 1],
    ['pool.web.backend[1].weight', 34, 1],
    ['pool.web.backend[1].extra.x', 37, 1],
    ['pool.api.backend[0].address', 40, 15],
    ['pool.api.backend[1].address', 40, 47],
    ['pool.api.backend[1].weight', 40, 75],
    ['pool.api.passive.eject_for', 41, 13],
    ['targets[0].address', 44, 1],
    ['targets[2].address', 48, 3],
    ['frontend.bind_on', 51, 1],
    ['frontend.backend[0].forward_to', 53, 1],
  ])('finds %s at %d:%d', (path, line, column) => {
    expect(locate(path)).toEqual({ line, column });
  });

  it.each([
    ['listener[0].pool', 5],
    ['pool.web.backend[0].weight', 29],
    ['pool.web.health.interval', 15],
    ['pool.web.connect_timeout', 13],
    ['pool.api.backend[0].weight', 40],
    ['targets[1].health_check_endpoint', 45],
  ])('gives %s, which is not written, the line of its nearest written table', (path, line) => {
    expect(locate(path)).toEqual({ line });
  });

  it('skips what is inside multi-line strings', () => {
    expect(locate('not.a.header')).toBeUndefined();
    expect(locate('pool.web.fake')).toEqual({ line: 13 });
  });

  it('gives undefined for a path with nothing written', () => {
    expect(locate('admin.listen')).toBeUndefined();
    expect(locate('')).toBeUndefined();
    expect(locate([])).toBeUndefined();
  });

  it('accepts key paths as segments', () => {
    expect(locate(['pool', 'web', 'backend', 1, 'weight'])).toEqual({ line: 34, column: 1 });
  });

  it('handles CRLF line ends', () => {
    expect(createLocator('[a]\r\nx = 1\r\n[[b]]\r\ny = 2\r\n')('b[0].y')).toEqual({ line: 4, column: 1 });
  });

  it.each([['[[[['], ['x = [ { a = '], ['"unterminated'], ['a = """'], ['[a.'], ['= = ='], ['\u0000\u0001{}[]'], ['x = {{{{']])(
    'never throws, even on %j',
    (text) => {
      const locate = createLocator(text);
      expect(() => locate('a.b[0].c')).not.toThrow();
    },
  );
});
