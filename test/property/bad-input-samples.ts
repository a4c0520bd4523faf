import type { KeyPath } from '../../src/config/key-path.js';

/**
 * Valid config files, one per layout, that the bad-input property tests mutate. Each
 * uses every key its layout has, so that a mutation can reach each of them.
 */
export const SAMPLES = {
  rxlb: `# every key of the rxlb layout
[global]
shutdown_grace = "30s"
max_connections = 0

[admin]
listen = "127.0.0.1:9901"
token = "s3cret"

[[listener]]
name = "web"
bind = "127.0.0.1:7070"
protocol = "tcp"
pool = "web"
max_connections = 100

[[listener]]
name = "dns"
bind = "127.0.0.1:5353"
protocol = "udp"
pool = "dns"
session_timeout = "60s"
max_sessions = 10

[pool.web]
policy = "round-robin"
connect_timeout = "3s"
idle_timeout = "10m"
retries = 2
on_no_backend = "http-503"

[pool.web.health]
kind = "http"
port = 8081
path = "/healthz"
expect_status = "200-399"
interval = "5s"
timeout = "2s"
rise = 2
fall = 3

[pool.web.passive]
consecutive_failures = 5
eject_for = "30s"

[[pool.web.backend]]
address = "127.0.0.1:8080"
weight = 1
max_connections = 0
backup = false

[[pool.web.backend]]
address = "[::1]:8081"
weight = 3

[pool.dns]
policy = "maglev"

[[pool.dns.backend]]
address = "127.0.0.1:5301"
`,
  'mini-balancer': `# the mini-balancer layout
[frontend]
bind_on = "127.0.0.1:7070"

[[frontend.backend]]
forward_to = "127.0.0.1:8080"

[[frontend.backend]]
forward_to = "127.0.0.1:8081"
`,
  targets: `# the targets layout
[[targets]]
address = "127.0.0.1:8001"
health_check_endpoint = "/healthz"

[[targets]]
address = "127.0.0.1:8002"
`,
} as const;

export type SampleName = keyof typeof SAMPLES;
export const SAMPLE_NAMES = Object.keys(SAMPLES) as SampleName[];

/** What a value must be, for the keys of the samples. */
export type ValueKind = 'string' | 'duration' | 'integer' | 'boolean' | 'status';

/** The kind of each key's value; a duration or status also reads from an integer. */
export const VALUE_KINDS: Readonly<Record<string, ValueKind>> = {
  shutdown_grace: 'duration',
  connect_timeout: 'duration',
  idle_timeout: 'duration',
  interval: 'duration',
  timeout: 'duration',
  session_timeout: 'duration',
  eject_for: 'duration',
  max_connections: 'integer',
  max_sessions: 'integer',
  retries: 'integer',
  port: 'integer',
  rise: 'integer',
  fall: 'integer',
  consecutive_failures: 'integer',
  weight: 'integer',
  backup: 'boolean',
  expect_status: 'status',
  name: 'string',
  bind: 'string',
  protocol: 'string',
  pool: 'string',
  policy: 'string',
  on_no_backend: 'string',
  kind: 'string',
  path: 'string',
  listen: 'string',
  token: 'string',
  address: 'string',
  bind_on: 'string',
  forward_to: 'string',
  health_check_endpoint: 'string',
};

/** Every key any layout knows, at any depth: a renamed key must be none of these. */
export const KNOWN_KEYS: readonly string[] = [
  ...Object.keys(VALUE_KINDS),
  'global',
  'admin',
  'listener',
  'health',
  'passive',
  'backend',
  'frontend',
  'targets',
];

/** One line of a sample, with the key path it writes (when it writes one). */
export interface SampleLine {
  readonly text: string;
  /** 0-based. */
  readonly index: number;
  readonly kind: 'header' | 'array-header' | 'key' | 'other';
  /** For a key: its path; for a header: the table's path, without an array index. */
  readonly path: KeyPath;
  /** For a key: its name; for a header: its last segment. */
  readonly key: string;
}

/**
 * The lines of a sample with the key path each writes, worked out independently of
 * the locator under test: the samples use plain `[a.b]` and `[[a.b]]` headers and bare
 * `key = value` lines only.
 */
export function annotate(text: string): SampleLine[] {
  const counts = new Map<string, number>();
  let table: KeyPath = [];
  return text.split('\n').map((line, index): SampleLine => {
    const header = /^(\[\[?)([A-Za-z0-9_.-]+)\]\]?$/.exec(line);
    if (header) {
      const segments = (header[2] ?? '').split('.');
      const isArray = header[1] === '[[';
      const name = segments.join('.');
      const count = counts.get(name) ?? 0;
      if (isArray) counts.set(name, count + 1);
      table = isArray ? [...segments, count] : segments;
      return { text: line, index, kind: isArray ? 'array-header' : 'header', path: segments, key: segments[segments.length - 1] ?? '' };
    }
    const key = /^([A-Za-z0-9_-]+) = /.exec(line);
    if (key) return { text: line, index, kind: 'key', path: [...table, key[1] ?? ''], key: key[1] ?? '' };
    return { text: line, index, kind: 'other', path: [], key: '' };
  });
}
