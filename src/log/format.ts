import type { LevelName } from './levels.js';

export type Fields = Readonly<Record<string, string | number | boolean | null | undefined | readonly string[]>>;
export type LogFormat = 'text' | 'json';

/** One JSON line: `time`, `level`, `msg`, then the fields in the order given. */
export function formatJson(time: Date, level: LevelName, msg: string, fields: Fields): string {
  let line = `{"time":"${time.toISOString()}","level":"${level}","msg":${JSON.stringify(msg)}`;
  for (const key in fields) {
    const value = fields[key];
    if (value !== undefined) line += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  return line + '}\n';
}

const LABEL: Record<LevelName, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR' };

/** One human line: time, level, message, then `key=value` pairs (quoted when needed). */
export function formatText(time: Date, level: LevelName, msg: string, fields: Fields): string {
  let line = `${time.toISOString()} ${LABEL[level]} ${msg}`;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    const text = value === null ? '-' : Array.isArray(value) ? value.join('; ') : String(value);
    line += ` ${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
  }
  return line + '\n';
}
