import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { AddressList } from '../../../../src/config/types.js';
import { accessList } from '../../../../src/streams/door/access-list.js';
import { addressList } from '../../../../src/streams/door/cidr.js';
import { testScheduler } from '../../helpers.js';
import { from, outcome, type TestArrival } from './arrivals.js';

const lists = { allow: addressList(['10.0.0.0/8', '::1']), deny: addressList(['10.9.0.0/16']) };

describe('accessList', () => {
  it('refuses `denied` whoever deny names, then whoever allow does not, IPv4-mapped addresses as IPv4', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const arrivals = hot('-a-b-c-d-e-f-|', {
        a: from('10.0.0.1'),
        b: from('10.9.0.1'), // in allow too: deny comes first
        c: from('192.0.2.1'),
        d: from('::ffff:10.9.3.4'),
        e: from('::ffff:10.1.2.3'),
        f: from('::1'),
      });
      expectObservable(arrivals.pipe(accessList(lists), map(outcome))).toBe('-a-d-d-d-a-a-|', { a: 'web', d: 'denied' });
      expectSubscriptions(arrivals.subscriptions).toBe('^------------!');
    });
  });

  it('with deny only, lets in everyone else; with allow only, no one else', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const arrivals = cold('ab|', { a: from('10.9.0.1'), b: from('192.0.2.1') });
      expectObservable(arrivals.pipe(accessList({ allow: undefined, deny: lists.deny }), map(outcome))).toBe('dw|', { d: 'denied', w: 'web' });
      expectObservable(arrivals.pipe(accessList({ allow: addressList(['10.9.0.0/16']), deny: undefined }), map(outcome))).toBe('wd|', { d: 'denied', w: 'web' });
    });
  });

  it('checks the client, not the TCP peer: behind a PROXY header, the header source', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const proxied = { ...from('10.9.0.1'), client: { address: '10.0.0.7', port: 1234 } };
      const spoofing = { ...from('10.0.0.7'), client: { address: '10.9.0.1', port: 1234 } };
      expectObservable(cold('ab|', { a: proxied, b: spoofing }).pipe(accessList(lists), map(outcome))).toBe('wd|', { d: 'denied', w: 'web' });
    });
  });

  it('passes an arrival refused before untouched, the same object', () => {
    const refused = { ...from('10.9.0.1'), refused: 'bad_header' as const };
    const passed: unknown[] = [];
    testScheduler().run(({ cold }) => {
      cold('a|', { a: refused }).pipe(accessList(lists)).subscribe((a) => passed.push(a));
    });
    expect(passed).toEqual([refused]);
    expect(passed[0]).toBe(refused);
  });

  it('passes on never, empty, an error, and stops at an early unsubscribe', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold<TestArrival>('-').pipe(accessList(lists))).toBe('-');
      expectObservable(cold<TestArrival>('|').pipe(accessList(lists))).toBe('|');
      expectObservable(cold<TestArrival>('-#', undefined, new Error('boom')).pipe(accessList(lists))).toBe('-#', undefined, new Error('boom'));
      const arrivals = hot('-a-a-a-', { a: from('192.0.2.1') });
      expectObservable(arrivals.pipe(accessList(lists), map(outcome)), '^--!').toBe('-d-', { d: 'denied' });
      expectSubscriptions(arrivals.subscriptions).toBe('^--!');
    });
  });

  it('errors with what a list throws, rather than letting the client in', () => {
    const broken: AddressList = {
      entries: [],
      matches: () => {
        throw new Error('broken list');
      },
    };
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: from('10.0.0.1') }).pipe(accessList({ allow: undefined, deny: broken }))).toBe('#', undefined, new Error('broken list'));
    });
  });
});
