import type { LevelName } from './levels.js';

export type Fields = Readonly<Record<string, string | number | boolean | null | undefined | readonly string[]>>;
export type LogFormat = 'text' | 'json';

/** Characters a JSON string must escape (and lone surrogates, which JSON.stringify escapes). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;
const quoted = (text: string): string => (NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`);

// Field names repeat on every record: build each `"name":` once.
const keyPrefix = new Map<string, string>();
function prefix(key: string): string {
  let cached = keyPrefix.get(key);
  if (cached === undefined) {
    cached = `,${JSON.stringify(key)}:`;
    if (keyPrefix.size < 256) keyPrefix.set(key, cached);
  }
  return cached;
}

// Many records share a millisecond; format the time once per millisecond.
let lastMs = -1;
let lastIso = '';
function iso(time: Date): string {
  const ms = time.getTime();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = time.toISOString();
  }
  return lastIso;
}

/** One JSON line: `time`, `level`, `msg`, then the fields in the order given. */
export function formatJson(time: Date, level: LevelName, msg: string, fields: Fields): string {
  let line = `{"time":"${iso(time)}","level":"${level}","msg":${quoted(msg)}`;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    line += prefix(key);
    line += typeof value === 'string' ? quoted(value) : typeof value === 'number' && Number.isFinite(value) ? String(value) : JSON.stringify(value);
  }
  return line + '}\n';
}

const LABEL: Record<LevelName, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR' };

/**
 * One human line: time, level, message, then `key=value` pairs (quoted when needed).
 * `null` shows as `-`, a list as its items joined by `; `, an empty list as `none`
 * (a reload of an unchanged file: `changes=none`).
 */
export function formatText(time: Date, level: LevelName, msg: string, fields: Fields): string {
  let line = `${iso(time)} ${LABEL[level]} ${msg}`;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    const text = value === null ? '-' : Array.isArray(value) ? (value.length === 0 ? 'none' : value.join('; ')) : String(value);
    line += ` ${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
  }
  return line + '\n';
}
