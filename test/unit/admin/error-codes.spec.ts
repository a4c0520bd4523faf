import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADMIN_ERROR_CODES } from '../../../src/admin/error-codes.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const routes = readFileSync(new URL('../../../src/admin/routes.ts', import.meta.url), 'utf8');

describe('admin error codes', () => {
  it('are all in the README error table, and no other admin code is', () => {
    const documented = [...readme.matchAll(/^\| `(RXLB_(?:ADMIN|RELOAD)_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...ADMIN_ERROR_CODES].sort());
  });

  it('are each answered by some route', () => {
    for (const code of ADMIN_ERROR_CODES) expect(routes).toContain(`'${code}'`);
  });
});
