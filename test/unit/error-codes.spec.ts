import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const documented = [...readme.matchAll(/^\| `(RXLB_ERR[A-Z_]*)` \|/gm)].map((m) => m[1]);

describe('error codes', () => {
  it('lists every code in the README table, and nothing else', () => {
    expect([...documented].sort()).toEqual([...errors.ERROR_CODES].sort());
  });

  it('gives every error class its own code from the list, and its name', () => {
    const instances = [
      new errors.RxlbError('x'),
      new errors.ConfigError([{ file: 'f', path: 'p', message: 'm' }]),
      new errors.ListenError('x'),
      new errors.UpstreamConnectError('127.0.0.1:1', 'refused'),
      new errors.NoBackendError('web'),
      new errors.LimitError('x'),
      new errors.ResolveError('x'),
      new errors.PolicyError('x'),
      new errors.PolicyFailedError('x', 'no_answer'),
      new errors.StateError('x'),
    ];
    expect(instances.map((e) => e.code)).toEqual([...errors.ERROR_CODES]);
    expect(instances.map((e) => e.name)).toEqual(['RxlbError', 'ConfigError', 'ListenError', 'UpstreamConnectError', 'NoBackendError', 'LimitError', 'ResolveError', 'PolicyError', 'PolicyFailedError', 'StateError']);
  });
});
