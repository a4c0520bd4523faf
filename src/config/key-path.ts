/**
 * A key path names one place in a config: table keys and 0-based array indexes, as in
 * `['pool', 'web', 'backend', 1, 'address']`, written `pool.web.backend[1].address`.
 */
export type KeyPath = readonly (string | number)[];

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Writes a key path the way every ConfigIssue shows it: keys joined by `.`, array
 * indexes in brackets, and a key that is not a bare TOML key in double quotes
 * (`pool."my pool".backend[0].address`).
 */
export function formatKeyPath(path: KeyPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else {
      const key = BARE_KEY.test(segment) ? segment : JSON.stringify(segment);
      text += text === '' ? key : `.${key}`;
    }
  }
  return text;
}

/**
 * Reads a key path written by {@link formatKeyPath} back into its segments. It never
 * throws: text it cannot read ends the path where it stands.
 */
export function parseKeyPath(text: string): KeyPath {
  const path: (string | number)[] = [];
  let p = 0;
  while (p < text.length) {
    const c = text[p];
    if (c === '.') {
      p += 1;
    } else if (c === '[') {
      const close = text.indexOf(']', p);
      const index = Number(text.slice(p + 1, close));
      if (close < 0 || !Number.isInteger(index)) break;
      path.push(index);
      p = close + 1;
    } else if (c === '"') {
      let end = p + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      try {
        path.push(JSON.parse(text.slice(p, end + 1)) as string);
      } catch {
        break;
      }
      p = end + 1;
    } else {
      let end = p;
      while (end < text.length && text[end] !== '.' && text[end] !== '[') end += 1;
      path.push(text.slice(p, end));
      p = end;
    }
  }
  return path;
}
