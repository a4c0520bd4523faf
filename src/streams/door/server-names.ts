import type { ServerNameList } from '../../config/types.js';
import { parseIPv4 } from '../../wire/ip.js';

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * What is wrong with a route's server name pattern, or undefined: an exact host name
 * (`api.example.com`) or a wildcard for every name under a domain (`*.example.com`),
 * in ASCII (an internationalised name in its `xn--` form), without a trailing dot.
 */
export function checkServerName(pattern: string): string | undefined {
  const shown = JSON.stringify(pattern);
  if (pattern === '') return 'a server name must not be empty';
  const name = pattern.toLowerCase();
  // eslint-disable-next-line no-control-regex -- any byte outside ASCII is what is refused
  if (/[^\x00-\x7f]/.test(name)) return `${shown}: write an internationalised name in its ASCII form ("xn--...")`;
  if (name === '*') return `${shown} would match every name: leave sni out of the route instead`;
  const domain = name.startsWith('*.') ? name.slice(2) : name;
  if (domain.includes('*')) return `${shown}: only a whole first label may be a wildcard, as in "*.example.com"`;
  if (domain.endsWith('.')) return `${shown}: write the name without the trailing dot`;
  if (parseIPv4(domain) >= 0) return `${shown}: TLS clients do not send IP addresses as server names (RFC 6066)`;
  if (domain.length > 253) return `${shown}: a host name has at most 253 characters`;
  const bad = domain.split('.').find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return bad === '' ? `${shown}: a host name has no empty label` : `${shown}: the label ${JSON.stringify(bad)} is not 1 to 63 letters, digits, "-" or "_", starting and ending with a letter or digit`;
  }
  return undefined;
}

/**
 * Compiles server name patterns (each valid by {@link checkServerName}) into a
 * {@link ServerNameList}: exact names in a Set, wildcards as suffixes (`.example.com`)
 * compared with `endsWith`, so a match allocates nothing but a lower-cased copy of a name
 * that is not already lower case.
 */
export function serverNames(patterns: readonly string[]): ServerNameList {
  const entries = patterns.map((p) => p.toLowerCase());
  const exact = new Set(entries.filter((p) => !p.startsWith('*.')));
  const suffixes = entries.filter((p) => p.startsWith('*.')).map((p) => p.slice(1));
  const matches = (name: string): boolean => {
    if (typeof name !== 'string') return false;
    const lower = name.toLowerCase();
    if (exact.has(lower)) return true;
    for (const suffix of suffixes) if (lower.length > suffix.length && lower.endsWith(suffix)) return true;
    return false;
  };
  return { entries, matches };
}
