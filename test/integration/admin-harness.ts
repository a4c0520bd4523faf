import { expect } from 'vitest';
import type { StatusView } from '../../src/admin/types.js';
import type { LogRecord, Rxlb } from './harness.js';

/**
 * Helpers for specs that drive rxlb's admin API: a strict parser of the Prometheus text
 * exposition format (0.0.4), and small HTTP helpers bounded in time.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly help: string;
  readonly samples: readonly Sample[];
}

export type Metrics = ReadonlyMap<string, Family>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** A float as Go's ParseFloat reads it (decimal forms): `Inf` and `NaN` in any case, as prom-client writes `Nan`. */
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?|inf(?:inity)?)|nan)$/i;
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'] as const;

interface MutableFamily {
  name: string;
  type: Family['type'] | undefined;
  help: string | undefined;
  samples: Sample[];
}

/**
 * Parses Prometheus text exposition strictly and throws, naming the line, at the first
 * departure from the format:
 * - the body ends with a newline; blank lines are allowed (prom-client separates families with one);
 * - the only comments are `# HELP name text` and `# TYPE name type`, each once per family and
 *   before its first sample, and every family has both;
 * - a sample is `name{label="value",...} value [timestamp]`: valid metric and label names, no
 *   `__` label prefix, no label twice, label values quoted with only `\\`, `\"` and `\n` escaped,
 *   a float value as Go's ParseFloat reads it;
 * - a sample belongs to the family declared last (its name, or `_bucket`/`_sum`/`_count` of a
 *   histogram or summary): families are contiguous and never come back;
 * - no series (name and label set) twice; counters are finite and not negative; histogram
 *   buckets have `le`, are cumulative and end with `+Inf` equal to `_count`.
 */
export function parsePrometheus(text: string): Metrics {
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const families = new Map<string, MutableFamily>();
  const series = new Set<string>();
  let current: MutableFamily | undefined;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    const fail = (why: string): never => {
      throw new Error(`${where}: ${why}`);
    };
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return fail('a comment that is neither HELP nor TYPE');
      const [, kind, name = '', rest = ''] = m;
      if (!METRIC_NAME.test(name)) fail(`bad metric name ${name}`);
      let family = families.get(name);
      if (!family) {
        family = { name, type: undefined, help: undefined, samples: [] };
        families.set(name, family);
        current = family;
      } else if (family !== current) {
        fail(`family ${name} comes back after another family`);
      }
      if (family.samples.length > 0) fail(`${kind} after samples of ${name}`);
      if (kind === 'HELP') {
        if (family.help !== undefined) fail(`second HELP for ${name}`);
        family.help = unescapeHelp(rest, fail);
      } else {
        if (family.type !== undefined) fail(`second TYPE for ${name}`);
        const type = TYPES.find((t) => t === rest);
        if (type === undefined) return fail(`unknown type ${rest}`);
        family.type = type;
      }
      return;
    }
    const sample = parseSample(line, fail);
    if (!current) return fail('a sample before any HELP/TYPE');
    if (!belongsTo(sample.name, current)) fail(`sample ${sample.name} is not part of family ${current.name} (declared last)`);
    if (current.type === undefined || current.help === undefined) fail(`family ${current.name} has no TYPE or no HELP before its samples`);
    const key = seriesKey(sample.name, sample.labels);
    if (series.has(key)) fail(`duplicate series ${key}`);
    series.add(key);
    if (current.type === 'counter' && !(Number.isFinite(sample.value) && sample.value >= 0)) fail(`counter value ${sample.value}`);
    current.samples.push(sample);
  });
  const result = new Map<string, Family>();
  for (const f of families.values()) {
    if (f.type === undefined || f.help === undefined) throw new Error(`family ${f.name} lacks ${f.type === undefined ? 'TYPE' : 'HELP'}`);
    if (f.type === 'histogram') checkHistogram(f);
    result.set(f.name, { name: f.name, type: f.type, help: f.help, samples: f.samples });
  }
  return result;
}

function belongsTo(sample: string, family: MutableFamily): boolean {
  if (sample === family.name) return family.type !== 'histogram';
  if (family.type === 'histogram') return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`].includes(sample);
  if (family.type === 'summary') return [`${family.name}_sum`, `${family.name}_count`].includes(sample);
  return false;
}

function unescapeHelp(text: string, fail: (why: string) => never): string {
  return text.replace(/\\(.?)/g, (_, c: string) => (c === '\\' ? '\\' : c === 'n' ? '\n' : fail(`bad escape \\${c} in HELP`)));
}

/** One sample line, read character by character so a quote or backslash cannot hide. */
function parseSample(line: string, fail: (why: string) => never): Sample {
  const nameEnd = line.search(/[{ ]/);
  if (nameEnd <= 0) return fail('no metric name');
  const name = line.slice(0, nameEnd);
  if (!METRIC_NAME.test(name)) fail(`bad metric name ${name}`);
  const labels: Record<string, string> = {};
  let at = nameEnd;
  if (line[at] === '{') {
    at += 1;
    while (line[at] !== '}') {
      const eq = line.indexOf('=', at);
      if (eq < 0) return fail('label without =');
      const label = line.slice(at, eq);
      if (!LABEL_NAME.test(label) || label.startsWith('__')) fail(`bad label name ${JSON.stringify(label)}`);
      if (Object.hasOwn(labels, label)) fail(`label ${label} twice`);
      if (line[eq + 1] !== '"') fail(`value of ${label} is not quoted`);
      let value = '';
      at = eq + 2;
      for (;;) {
        const c = line[at];
        if (c === undefined) return fail(`unterminated value of ${label}`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[at + 1];
          if (e === '\\' || e === '"') value += e;
          else if (e === 'n') value += '\n';
          else fail(`bad escape \\${e ?? ''} in value of ${label}`);
          at += 2;
        } else {
          value += c;
          at += 1;
        }
      }
      labels[label] = value;
      at += 1; // the closing quote
      if (line[at] === ',') at += 1;
      else if (line[at] !== '}') fail(`expected , or } after label ${label}`);
    }
    at += 1; // the closing brace
  }
  const rest = line.slice(at);
  const m = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!m || !FLOAT.test(m[1]!)) return fail(`bad value part ${JSON.stringify(rest)}`);
  const raw = m[1]!;
  const special = raw.replace(/^[+-]/, '').toLowerCase();
  const value = special === 'nan' ? Number.NaN : special.startsWith('inf') ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw);
  return { name, labels, value };
}

function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${name}{${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}

function checkHistogram(f: MutableFamily): void {
  const groups = new Map<string, { le: number; value: number }[]>();
  const counts = new Map<string, number>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = seriesKey(f.name, rest);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}_bucket without le`);
      const bound = le === '+Inf' ? Infinity : Number(le);
      if (Number.isNaN(bound)) throw new Error(`${f.name}_bucket le=${le}`);
      groups.set(key, [...(groups.get(key) ?? []), { le: bound, value: s.value }]);
    } else if (s.name === `${f.name}_count`) {
      counts.set(key, s.value);
    }
  }
  for (const [key, buckets] of groups) {
    for (let i = 1; i < buckets.length; i += 1) {
      if (!(buckets[i]!.le > buckets[i - 1]!.le && buckets[i]!.value >= buckets[i - 1]!.value)) throw new Error(`${key}: buckets not cumulative`);
    }
    const last = buckets[buckets.length - 1]!;
    if (last.le !== Infinity || last.value !== counts.get(key)) throw new Error(`${key}: no +Inf bucket equal to _count`);
  }
}

/** The samples of `name` whose labels include every one of `labels`. */
export function samples(metrics: Metrics, name: string, labels: Readonly<Record<string, string>> = {}): Sample[] {
  const family = metrics.get(name) ?? metrics.get(name.replace(/_(bucket|sum|count)$/, ''));
  return (family?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one series of `name` with exactly these labels; undefined when there is none. */
export function value(metrics: Metrics, name: string, labels: Readonly<Record<string, string>>): number | undefined {
  const exact = samples(metrics, name, labels).filter((s) => Object.keys(s.labels).length === Object.keys(labels).length);
  if (exact.length > 1) throw new Error(`more than one series ${name} ${JSON.stringify(labels)}`);
  return exact[0]?.value;
}

/** The sum of every series of `name` whose labels include `labels`. */
export function total(metrics: Metrics, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples(metrics, name, labels).reduce((n, s) => n + s.value, 0);
}

const HTTP_TIMEOUT_MS = 5_000;

/** The admin API's base URL, from the `admin listening` record. */
export async function adminBase(rxlb: Rxlb): Promise<string> {
  const record = await rxlb.waitFor((r) => r.msg === 'admin listening');
  const address = String(record.address);
  expect(address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  return `http://${address}`;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/** A request to the admin API, its JSON body parsed (text when it is not JSON). */
export async function request(base: string, method: 'GET' | 'POST', path: string, token?: string): Promise<Answer> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const response = await fetch(`${base}${path}`, { method, headers, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, headers: response.headers, body: json ? (JSON.parse(text) as unknown) : text };
}

export const post = (base: string, path: string, token?: string): Promise<Answer> => request(base, 'POST', path, token);

/** GET /metrics: 200 with the Prometheus content type, parsed strictly. */
export async function scrape(base: string): Promise<Metrics> {
  const response = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(await response.text());
}

/**
 * GET /status: 200 JSON, checked against interface.md's shape key by key (no key missing,
 * none extra, each of its type) before it is typed as a StatusView.
 */
export async function status(base: string): Promise<StatusView> {
  const answer = await request(base, 'GET', '/status');
  expect(answer.status).toBe(200);
  checkStatusShape(answer.body);
  return answer.body as StatusView;
}

function checkStatusShape(body: unknown): void {
  const object = (value: unknown, keys: readonly string[], where: string): Record<string, unknown> => {
    expect(value, where).toBeTypeOf('object');
    expect(value, where).not.toBeNull();
    expect(Array.isArray(value), where).toBe(false);
    const record = value as Record<string, unknown>;
    expect(Object.keys(record).sort(), where).toEqual([...keys].sort());
    return record;
  };
  const list = (value: unknown, where: string): unknown[] => {
    expect(Array.isArray(value), `${where} is an array`).toBe(true);
    return value as unknown[];
  };
  const count = (value: unknown, where: string): void => {
    expect(Number.isSafeInteger(value) && (value as number) >= 0, `${where} = ${String(value)} is a count`).toBe(true);
  };
  const root = object(body, ['listeners', 'pools'], 'status');
  list(root.listeners, 'listeners').forEach((l, i) => {
    const listener = object(l, ['name', 'protocol', 'address', 'pool', 'active', 'rejected'], `listeners[${i}]`);
    expect(listener.name).toBeTypeOf('string');
    expect(['tcp', 'udp']).toContain(listener.protocol);
    expect(listener.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/); // the real port, never 0
    expect(listener.pool).toBeTypeOf('string');
    count(listener.active, `listeners[${i}].active`);
    const reasons = ['no_backend', 'limit', 'denied', 'rate_limit', 'bad_header', 'preread_timeout', 'no_route', 'queue_timeout'];
    const rejected = object(listener.rejected, reasons, `listeners[${i}].rejected`);
    for (const reason of reasons) count(rejected[reason], `listeners[${i}].rejected.${reason}`);
  });
  list(root.pools, 'pools').forEach((p, i) => {
    const pool = object(p, ['name', 'policy', 'backends'], `pools[${i}]`);
    expect(pool.name).toBeTypeOf('string');
    expect(pool.policy).toBeTypeOf('string');
    list(pool.backends, `pools[${i}].backends`).forEach((b, j) => {
      const where = `pools[${i}].backends[${j}]`;
      const backend = object(b, ['address', 'state', 'weight', 'active', 'total', 'failures'], where);
      expect(backend.address).toBeTypeOf('string');
      expect(['up', 'down', 'draining', 'disabled']).toContain(backend.state);
      expect(backend.weight).toBeTypeOf('number');
      count(backend.active, `${where}.active`);
      count(backend.total, `${where}.total`);
      count(backend.failures, `${where}.failures`);
    });
  });
}

/**
 * Checks that /status and /metrics tell the same story: per backend, `total`, `active`
 * and `failures` equal the sums of its connection (or, for UDP listeners, session)
 * series, and `up` is `rxlb_backend_up 1`; per listener, `active` is
 * `rxlb_listener_connections_active`.
 */
export function expectAgreement(view: StatusView, metrics: Metrics): void {
  const udp = new Set(view.listeners.filter((l) => l.protocol === 'udp').map((l) => l.name));
  for (const l of view.listeners) {
    expect(value(metrics, 'rxlb_listener_connections_active', { listener: l.name }), `listener ${l.name}`).toBe(l.active);
    for (const [reason, count] of Object.entries(l.rejected)) {
      expect(value(metrics, 'rxlb_connections_rejected_total', { listener: l.name, reason }), `listener ${l.name} rejected ${reason}`).toBe(count);
    }
  }
  for (const p of view.pools) {
    for (const b of p.backends) {
      const labels = { pool: p.name, backend: b.address };
      const where = `${p.name} ${b.address}`;
      const tcpOnly = (s: Sample): boolean => !udp.has(s.labels.listener ?? '');
      const udpOnly = (s: Sample): boolean => udp.has(s.labels.listener ?? '');
      const sum = (name: string, keep: (s: Sample) => boolean): number => samples(metrics, name, labels).filter(keep).reduce((n, s) => n + s.value, 0);
      expect(sum('rxlb_connections_total', tcpOnly) + sum('rxlb_udp_sessions_total', udpOnly), `${where} total`).toBe(b.total);
      expect(sum('rxlb_connections_active', tcpOnly) + sum('rxlb_udp_sessions_active', udpOnly), `${where} active`).toBe(b.active);
      expect(total(metrics, 'rxlb_connect_failures_total', labels), `${where} failures`).toBe(b.failures);
      expect(value(metrics, 'rxlb_backend_up', labels), `${where} up`).toBe(b.state === 'up' ? 1 : 0);
    }
  }
}

/** A listener's `rejected` in /status with nothing turned away, or with the counts given. */
export function rejected(counts: Partial<Record<string, number>> = {}): Record<string, number> {
  return { no_backend: 0, limit: 0, denied: 0, rate_limit: 0, bad_header: 0, preread_timeout: 0, no_route: 0, queue_timeout: 0, ...counts };
}

/** Waits until `n` records match (already seen or still to come), and returns them all. */
export async function waitForCount(rxlb: Rxlb, match: (r: LogRecord) => boolean, n: number, timeoutMs?: number): Promise<LogRecord[]> {
  await rxlb.waitFor((r) => match(r) && rxlb.records.filter(match).length >= n, timeoutMs);
  return rxlb.records.filter(match);
}
