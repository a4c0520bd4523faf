import { describe, expect, it } from 'vitest';
import { connectionCapFor, openFileLimit } from '../../src/io/descriptor-limit.js';

const limits = (soft: string): string =>
  ['Limit                     Soft Limit           Hard Limit           Units', 'Max processes             95385                95385                processes', `Max open files            ${soft}                20000                files`].join('\n');

describe('openFileLimit', () => {
  it('reads the soft limit on open files', () => {
    expect(openFileLimit(() => limits('1024'))).toBe(1024);
  });

  it('is undefined when unlimited, unreadable or absent', () => {
    expect(openFileLimit(() => limits('unlimited'))).toBeUndefined();
    expect(openFileLimit(() => 'Max processes 1 1 processes')).toBeUndefined();
    expect(
      openFileLimit(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
  });

  it('reads this machine', () => {
    expect(openFileLimit()).toBeGreaterThan(0);
  });
});

describe('connectionCapFor', () => {
  it('leaves two descriptors per connection after a reserve: 64, or half of a small limit', () => {
    expect(connectionCapFor(20_000)).toBe(9_968);
    expect(connectionCapFor(1024)).toBe(480);
    expect(connectionCapFor(256)).toBe(96);
    expect(connectionCapFor(64)).toBe(16);
    expect(connectionCapFor(2)).toBe(1);
  });
});
