import type { Fields } from './fields.js';
import { formatKeyPath } from './key-path.js';
import { suggest } from './suggest.js';

/**
 * The pool named by `key` (a listener's or a route's `pool`), reported when it is
 * empty, not a string or not one of `pools`, with the nearest name suggested. Gives the
 * name as written whenever it is a non-empty string, so later checks see it.
 */
export function poolRef(fields: Fields, key: string, pools: readonly string[]): string | undefined {
  const pool = fields.text(key);
  if (pool !== undefined && !pools.includes(pool)) {
    // pool names are TOML keys, so any text: quoted as keys are, so a message stays one line
    const near = suggest(pool, pools);
    const defined = pools.map((p) => formatKeyPath([p])).join(', ');
    const hint = near !== undefined ? `; did you mean ${JSON.stringify(near)}?` : pools.length > 0 ? `; pools defined: ${defined}` : '; no [pool.<name>] table is defined';
    fields.issues.add(fields.at(key), `no pool named ${JSON.stringify(pool)}${hint}`);
  }
  return pool;
}
