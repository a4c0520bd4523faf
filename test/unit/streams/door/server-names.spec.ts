import { describe, expect, it } from 'vitest';
import { addressList } from '../../../../src/streams/door/cidr.js';
import { firstRoute, type DoorFacts } from '../../../../src/streams/door/routes.js';
import { checkServerName, serverNames } from '../../../../src/streams/door/server-names.js';
import type { RouteConfig } from '../../../../src/config/types.js';

describe('serverNames', () => {
  it('matches exact names and wildcards at any depth, without regard to case, but not the bare domain', () => {
    const names = serverNames(['API.example.com', '*.Example.ORG']);
    expect(names.entries).toEqual(['api.example.com', '*.example.org']);
    const tried = ['api.example.com', 'Api.Example.Com', 'x.api.example.com', 'example.com', 'a.example.org', 'a.b.EXAMPLE.org', 'example.org', 'xexample.org', '.example.org'];
    expect(tried.filter(names.matches)).toEqual(['api.example.com', 'Api.Example.Com', 'a.example.org', 'a.b.EXAMPLE.org']);
  });
});

describe('checkServerName', () => {
  it('takes host names and first-label wildcards', () => {
    for (const name of ['api.example.com', 'API.Example.com', '*.example.com', 'localhost', 'xn--bcher-kva.example', '_acme.example', 'a-b.c', '1.example', '*.com']) {
      expect(checkServerName(name), name).toBeUndefined();
    }
  });

  it('says what is wrong with anything else', () => {
    const cases: [string, string][] = [
      ['', 'a server name must not be empty'],
      ['*', '"*" would match every name: leave sni out of the route instead'],
      ['a.*.example.com', '"a.*.example.com": only a whole first label may be a wildcard, as in "*.example.com"'],
      ['*example.com', '"*example.com": only a whole first label may be a wildcard, as in "*.example.com"'],
      ['api.example.com.', '"api.example.com.": write the name without the trailing dot'],
      ['bücher.example', '"bücher.example": write an internationalised name in its ASCII form ("xn--...")'],
      ['192.0.2.1', '"192.0.2.1": TLS clients do not send IP addresses as server names (RFC 6066)'],
      ['a..example', '"a..example": a host name has no empty label'],
      ['-a.example', '"-a.example": the label "-a" is not 1 to 63 letters, digits, "-" or "_", starting and ending with a letter or digit'],
      ['a b.example', '"a b.example": the label "a b" is not 1 to 63 letters, digits, "-" or "_", starting and ending with a letter or digit'],
      [`${'a'.repeat(64)}.example`, `"${'a'.repeat(64)}.example": the label "${'a'.repeat(64)}" is not 1 to 63 letters, digits, "-" or "_", starting and ending with a letter or digit`],
      [Array(64).fill('abc').join('.'), `${JSON.stringify(Array(64).fill('abc').join('.'))}: a host name has at most 253 characters`],
    ];
    for (const [name, message] of cases) expect(checkServerName(name), name).toBe(message);
  });
});

describe('firstRoute', () => {
  const route = (pool: string, keys: { sni?: string[]; alpn?: string[]; source?: string[] }): RouteConfig => ({
    sni: keys.sni && serverNames(keys.sni),
    alpn: keys.alpn,
    source: keys.source && addressList(keys.source),
    pool,
  });
  const routes = [
    route('api', { sni: ['api.example.com'], alpn: ['h2'] }),
    route('web', { sni: ['*.example.com'] }),
    route('grpc', { alpn: ['h2', 'grpc-exp'] }),
    route('office', { source: ['192.0.2.0/24'] }),
  ];
  const facts = (client: string, sni?: string, alpn: string[] = []): DoorFacts => ({ client, sni, alpn });

  it('gives the first route whose every key matches, in order', () => {
    expect(firstRoute(routes, facts('10.0.0.1', 'api.example.com', ['http/1.1', 'h2']))).toBe(0);
    expect(firstRoute(routes, facts('10.0.0.1', 'api.example.com', ['http/1.1']))).toBe(1);
    expect(firstRoute(routes, facts('10.0.0.1', 'other.net', ['h2']))).toBe(2);
    expect(firstRoute(routes, facts('192.0.2.9', 'other.net', ['http/1.1']))).toBe(3);
    expect(firstRoute(routes, facts('::ffff:192.0.2.9'))).toBe(3);
    expect(firstRoute(routes, facts('10.0.0.1', 'other.net', ['http/1.1']))).toBe(-1);
  });

  it('never matches sni or alpn routes for a connection with no ClientHello read', () => {
    expect(firstRoute(routes.slice(0, 3), facts('192.0.2.9'))).toBe(-1);
    expect(firstRoute([route('all', { source: ['0.0.0.0/0'] })], facts('192.0.2.9'))).toBe(0);
    expect(firstRoute([], facts('192.0.2.9'))).toBe(-1);
  });
});
