import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText } from '../../../src/config/load.js';
import { ConfigError, formatIssue } from '../../../src/errors.js';
import { configError } from './helpers.js';

describe('parseConfigText', () => {
  it('turns a TOML syntax error into one issue with its line and column', () => {
    const err = configError(() => parseConfigText('[[listener]]\nbind = 127.0.0.1:1\npool = "web"\n', 'bad.toml'));
    expect(err.code).toBe('RXLB_ERR_CONFIG');
    expect(err.issues).toEqual([{ file: 'bad.toml', path: '', line: 2, column: 13, message: 'TOML syntax error: illegal character in numeric literal' }]);
    expect(err.message).toBe('bad.toml:2:13: TOML syntax error: illegal character in numeric literal');
  });

  it.each([
    ['a basic string', '[[listener]]\nbind = "127.0.0.1:1\npool = "web"\n', 'bad.toml:2:8: TOML syntax error: string not closed on line 2: add its closing "'],
    ['a literal string', "[[listener]]\nbind = '127.0.0.1:1\n", "bad.toml:2:8: TOML syntax error: string not closed on line 2: add its closing '"],
    ['a string in an inline table, after closed ones', '[t]\nk = { a = "x", b = "y\\" }\n', 'bad.toml:2:20: TOML syntax error: string not closed on line 2: add its closing "'],
    ['a string ending a CRLF line', '[t]\r\nk = "x\r\nj = 1\r\n', 'bad.toml:2:5: TOML syntax error: string not closed on line 2: add its closing "'],
    ['a string at the end of the file', '[t]\nk = "x', 'bad.toml:2:5: TOML syntax error: string not closed before the end of the file: add its closing "'],
    ['a multi-line string', "[t]\nk = '''x\ny\n", "bad.toml:2:5: TOML syntax error: string not closed before the end of the file: add its closing '''"],
  ])('says a string is not closed, at its opening quote: %s', (_, text, message) => {
    expect(configError(() => parseConfigText(text, 'bad.toml')).message).toBe(message);
  });

  it('keeps the parser\'s words for a control character inside a closed string', () => {
    expect(configError(() => parseConfigText('[t]\nk = "a\u0001b"\n', 'bad.toml')).message).toBe(
      'bad.toml:2:7: TOML syntax error: control characters are not allowed in strings',
    );
  });

  it('reports a key defined twice as a syntax error', () => {
    const err = configError(() => parseConfigText('[global]\nmax_connections = 1\nmax_connections = 2\n', 'dup.toml'));
    expect(err.issues.map(formatIssue)).toEqual(['dup.toml:3:1: TOML syntax error: trying to redefine an already defined table or value']);
  });

  it('reads a file that starts with a byte order mark', () => {
    const config = parseConfigText('\uFEFF[frontend]\nbind_on = "127.0.0.1:1"\n[[frontend.backend]]\nforward_to = "127.0.0.1:2"\n', 'bom.toml');
    expect(config.layout).toBe('mini-balancer');
  });
});

describe('loadConfigFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxlb-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and validates a file', async () => {
    const file = join(dir, 'ok.toml');
    await writeFile(file, '[[targets]]\naddress = "127.0.0.1:8001"\n');
    const config = await loadConfigFile(file, { listen: { host: '127.0.0.1', port: 0 } });
    expect(config.source).toBe(file);
    expect(config.listeners[0]?.bind).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('names the file in validation issues', async () => {
    const file = join(dir, 'bad.toml');
    await writeFile(file, '[[targets]]\nadress = "127.0.0.1:8001"\n');
    await expect(loadConfigFile(file)).rejects.toThrow(`${file}:2:1: targets[0].adress: Unknown key "adress"; did you mean "address"?`);
  });

  it('reports a missing file with the reason', async () => {
    const file = join(dir, 'missing.toml');
    const err = await loadConfigFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { file, path: '', message: 'cannot read the config file: no such file or directory (ENOENT)' },
    ]);
  });

  it('reports a directory with the reason', async () => {
    const err = await loadConfigFile(dir).catch((e: unknown) => e);
    expect((err as ConfigError).issues).toEqual([
      { file: dir, path: '', message: 'cannot read the config file: illegal operation on a directory (EISDIR)' },
    ]);
  });
});
