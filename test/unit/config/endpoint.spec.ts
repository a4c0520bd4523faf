import { describe, expect, it } from 'vitest';
import { formatEndpoint, parseEndpoint, tryParseEndpoint } from '../../../src/config/endpoint.js';
import { RxlbError } from '../../../src/errors.js';

const EXAMPLES = 'host:port such as "127.0.0.1:80", "[::1]:80" or "localhost:8080"';

describe('tryParseEndpoint', () => {
  it.each([
    ['127.0.0.1:80', '127.0.0.1', 80, '127.0.0.1:80'],
    ['0.0.0.0:0', '0.0.0.0', 0, '0.0.0.0:0'],
    ['[::1]:80', '::1', 80, '[::1]:80'],
    ['[::]:65535', '::', 65_535, '[::]:65535'],
    ['[0:0:0:0:0:0:0:1]:80', '::1', 80, '[::1]:80'],
    ['[FE80::A]:443', 'fe80::a', 443, '[fe80::a]:443'],
    ['localhost:8080', 'localhost', 8080, 'localhost:8080'],
    ['LocalHost:8080', 'localhost', 8080, 'localhost:8080'],
    ['backend-1.internal.example:9000', 'backend-1.internal.example', 9000, 'backend-1.internal.example:9000'],
    ['127.0.0.1:080', '127.0.0.1', 80, '127.0.0.1:80'],
  ])('reads %s', (text, host, port, formatted) => {
    expect(tryParseEndpoint(text)).toEqual({ ok: true, value: { host, port } });
    expect(formatEndpoint({ host, port })).toBe(formatted);
  });

  it.each([
    ['127.0.0.1', `missing port in "127.0.0.1": expected ${EXAMPLES}`],
    ['localhost', `missing port in "localhost": expected ${EXAMPLES}`],
    ['127.0.0.1:', `missing port in "127.0.0.1:": expected ${EXAMPLES}`],
    ['[::1]', `missing port in "[::1]": expected ${EXAMPLES}`],
    ['[::1]:', `missing port in "[::1]:": expected ${EXAMPLES}`],
    ['9901', 'missing host in "9901": expected host:port such as "127.0.0.1:9901"'],
    ['0', 'missing host in "0": expected host:port such as "127.0.0.1:0"'],
    ['65536', `missing port in "65536": expected ${EXAMPLES}`],
    ['', `expected ${EXAMPLES}, got ""`],
    [':80', `empty host in ":80": expected ${EXAMPLES}`],
    ['[]:80', 'empty host in "[]:80"'],
    ['127.0.0.1:65536', 'port must be an integer from 0 to 65535, got "65536" in "127.0.0.1:65536"'],
    ['127.0.0.1:-1', 'port must be an integer from 0 to 65535, got "-1" in "127.0.0.1:-1"'],
    ['127.0.0.1:http', 'port must be an integer from 0 to 65535, got "http" in "127.0.0.1:http"'],
    ['127.0.0.1:8.5', 'port must be an integer from 0 to 65535, got "8.5" in "127.0.0.1:8.5"'],
    ['::1:80', 'an IPv6 address needs brackets and a port, as in "[::1]:80", got "::1:80"'],
    ['::1', 'an IPv6 address needs brackets and a port, as in "[::1]:80", got "::1"'],
    ['[127.0.0.1]:80', '"127.0.0.1" in brackets is not an IPv6 address, in "[127.0.0.1]:80"'],
    ['[::1:80', 'missing "]" after the IPv6 address in "[::1:80"'],
    ['[::1]80', 'expected ":" and a port after "]", got "[::1]80"'],
    ['256.1.1.1:80', '"256.1.1.1" is not a valid IPv4 address, in "256.1.1.1:80"'],
    ['127.0.0:80', '"127.0.0" is not a valid IPv4 address, in "127.0.0:80"'],
    ['my host:80', '"my host" is not a valid hostname or IP address, in "my host:80"'],
    ['http://127.0.0.1:80', `expected ${EXAMPLES}, without a scheme, got "http://127.0.0.1:80"`],
  ])('refuses %j', (text, message) => {
    expect(tryParseEndpoint(text)).toEqual({ ok: false, message });
  });
});

describe('parseEndpoint', () => {
  it('gives the endpoint or throws an RxlbError with the message', () => {
    expect(parseEndpoint('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseEndpoint('127.0.0.1')).toThrow(RxlbError);
    expect(() => parseEndpoint('127.0.0.1')).toThrow(`missing port in "127.0.0.1": expected ${EXAMPLES}`);
  });
});
