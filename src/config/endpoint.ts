import { isIPv4, isIPv6 } from 'node:net';
import { RxlbError } from '../errors.js';
import { fail, ok, type Result } from './result.js';
import type { Endpoint } from './types.js';

const EXAMPLES = 'host:port such as "127.0.0.1:80", "[::1]:80" or "localhost:8080"';
const LABEL = /^[A-Za-z0-9_-]{1,63}$/;

/**
 * Reads `host:port`: an IPv4 address, an IPv6 address in brackets or a hostname, then a
 * port from 0 to 65535. The host comes back canonical: lower case, and an IPv6 address
 * in its shortest form (`[0:0::1]:80` gives `::1`).
 */
export function tryParseEndpoint(text: string): Result<Endpoint> {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    return fail(`expected ${EXAMPLES}, without a scheme, got ${JSON.stringify(text)}`);
  }
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return fail(`missing "]" after the IPv6 address in ${JSON.stringify(text)}`);
    host = text.slice(1, close);
    if (host === '') return fail(`empty host in ${JSON.stringify(text)}`);
    if (!isIPv6(host)) return fail(`${JSON.stringify(host)} in brackets is not an IPv6 address, in ${JSON.stringify(text)}`);
    const rest = text.slice(close + 1);
    if (rest === '' || rest === ':') return fail(`missing port in ${JSON.stringify(text)}: expected ${EXAMPLES}`);
    if (!rest.startsWith(':')) return fail(`expected ":" and a port after "]", got ${JSON.stringify(text)}`);
    portText = rest.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) {
      if (text === '') return fail(`expected ${EXAMPLES}, got ""`);
      // `--admin 9901`: a port alone, the host left out
      if (/^\d{1,5}$/.test(text) && Number(text) <= 65_535) return fail(`missing host in ${JSON.stringify(text)}: expected host:port such as "127.0.0.1:${text}"`);
      return fail(`missing port in ${JSON.stringify(text)}: expected ${EXAMPLES}`);
    }
    host = text.slice(0, colon);
    if (host.includes(':')) {
      return fail(`an IPv6 address needs brackets and a port, as in "[::1]:80", got ${JSON.stringify(text)}`);
    }
    if (host === '') return fail(`empty host in ${JSON.stringify(text)}: expected ${EXAMPLES}`);
    const problem = checkHost(host);
    if (problem) return fail(`${problem}, in ${JSON.stringify(text)}`);
    portText = text.slice(colon + 1);
  }
  if (portText === '') return fail(`missing port in ${JSON.stringify(text)}: expected ${EXAMPLES}`);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port <= 65_535)) {
    return fail(`port must be an integer from 0 to 65535, got ${JSON.stringify(portText)} in ${JSON.stringify(text)}`);
  }
  return ok({ host: canonicalHost(host), port });
}

/** What is wrong with an unbracketed host, or undefined when it is an IPv4 address or a hostname. */
function checkHost(host: string): string | undefined {
  if (isIPv4(host)) return undefined;
  if (/^[\d.]+$/.test(host)) return `${JSON.stringify(host)} is not a valid IPv4 address`;
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  if (host.length > 253 || !labels.every((label) => LABEL.test(label))) {
    return `${JSON.stringify(host)} is not a valid hostname or IP address`;
  }
  return undefined;
}

function canonicalHost(host: string): string {
  const lower = host.toLowerCase();
  if (!isIPv6(lower)) return lower;
  try {
    return new URL(`http://[${lower}]/`).hostname.slice(1, -1);
  } catch {
    return lower; // a zone index (fe80::1%eth0) is valid here but not in a URL
  }
}

/** {@link tryParseEndpoint}, throwing an RxlbError with the same message on bad input. */
export function parseEndpoint(text: string): Endpoint {
  const result = tryParseEndpoint(text);
  if (!result.ok) throw new RxlbError(result.message);
  return result.value;
}

/** `127.0.0.1:80`, `[::1]:80` or `localhost:8080`. */
export function formatEndpoint(endpoint: Endpoint): string {
  return formatHostPort(endpoint.host, endpoint.port);
}

/** `host:port`, with brackets around an IPv6 host: how every layer writes an address. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
