import { describe, expect, it } from 'vitest';
import { addressList, AddressListError } from '../../../../src/streams/door/cidr.js';

const matching = (entries: readonly string[], addresses: readonly string[]): string[] => {
  const list = addressList(entries);
  return addresses.filter((a) => list.matches(a));
};

const thrown = (entries: readonly string[]): AddressListError => {
  try {
    addressList(entries);
  } catch (err) {
    if (err instanceof AddressListError) return err;
    throw err;
  }
  throw new Error('expected an AddressListError');
};

describe('addressList', () => {
  it('matches IPv4 blocks, and IPv4-mapped IPv6 clients as the IPv4 address they are', () => {
    expect(matching(['10.0.0.0/8'], ['10.0.0.0', '10.1.2.3', '10.255.255.255', '::ffff:10.1.2.3', '::FFFF:a01:203', '9.255.255.255', '11.0.0.0', '::1', '::a01:203'])).toEqual([
      '10.0.0.0',
      '10.1.2.3',
      '10.255.255.255',
      '::ffff:10.1.2.3',
      '::FFFF:a01:203',
    ]);
  });

  it('matches single addresses of both families, in any spelling, and ignores a zone', () => {
    expect(matching(['192.0.2.7', '::1'], ['192.0.2.7', '192.0.2.8', '::1', '0:0:0::1', '::2', '::ffff:192.0.2.7'])).toEqual(['192.0.2.7', '::1', '0:0:0::1', '::ffff:192.0.2.7']);
    expect(matching(['fe80::/10'], ['fe80::1%eth0', 'febf::1', 'fec0::1'])).toEqual(['fe80::1%eth0', 'febf::1']);
  });

  it('matches IPv6 blocks on their prefix bits only', () => {
    expect(matching(['2001:db8::/32'], ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::', '2001:db7:ffff::1'])).toEqual(['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff']);
    expect(matching(['2001:db8:8000::/33'], ['2001:db8:8000::1', '2001:db8:7fff::1'])).toEqual(['2001:db8:8000::1']);
  });

  it('keeps the families apart: 0.0.0.0/0 is every IPv4 client, ::/0 every IPv6 one', () => {
    expect(matching(['0.0.0.0/0'], ['0.0.0.0', '255.255.255.255', '::ffff:1.2.3.4', '::1'])).toEqual(['0.0.0.0', '255.255.255.255', '::ffff:1.2.3.4']);
    expect(matching(['::/0'], ['::1', '2001:db8::1', '10.0.0.1', '::ffff:10.0.0.1'])).toEqual(['::1', '2001:db8::1']);
  });

  it('reads an IPv4-mapped IPv6 block as the IPv4 block it stands for', () => {
    expect(matching(['::ffff:10.0.0.0/104'], ['10.1.2.3', '::ffff:10.1.2.3', '11.0.0.1'])).toEqual(['10.1.2.3', '::ffff:10.1.2.3']);
    expect(matching(['::ffff:0:0/96'], ['1.2.3.4', '::1'])).toEqual(['1.2.3.4']);
  });

  it('joins touching and overlapping ranges and finds each', () => {
    const entries = ['10.128.0.0/9', '192.0.2.0/24', '10.0.0.0/9', '192.0.2.128/25', '172.16.0.0/12'];
    expect(matching(entries, ['10.0.0.0', '10.127.255.255', '10.128.0.0', '10.255.255.255', '11.0.0.0', '172.31.255.255', '172.32.0.0', '192.0.2.255', '192.0.3.0', '0.0.0.0'])).toEqual([
      '10.0.0.0',
      '10.127.255.255',
      '10.128.0.0',
      '10.255.255.255',
      '172.31.255.255',
      '192.0.2.255',
    ]);
  });

  it('matches nothing that is not an address, and nothing with an empty list', () => {
    expect(matching(['0.0.0.0/0', '::/0'], ['example.com', '', '10.0.0.1:80', '[::1]', ' 10.0.0.1', '10.0.0.1/32'])).toEqual([]);
    expect(matching([], ['10.0.0.1', '::1'])).toEqual([]);
  });

  it('keeps the entries as written', () => {
    expect(addressList(['10.0.0.0/8', '::1']).entries).toEqual(['10.0.0.0/8', '::1']);
  });

  it('names the first bad entry, its place and what is wrong with it', () => {
    const cases: [string[], number, string][] = [
      [['10.0.0.0/8', 'example.com'], 1, '"example.com" is not an IP address or CIDR block such as "10.0.0.0/8", "192.0.2.7", "2001:db8::/32" or "::1"'],
      [[''], 0, '"" is not an IP address or CIDR block such as "10.0.0.0/8", "192.0.2.7", "2001:db8::/32" or "::1"'],
      [['10.0.0.0/33'], 0, '"10.0.0.0/33": the prefix length of an IPv4 block is 0 to 32'],
      [['::/129'], 0, '"::/129": the prefix length of an IPv6 block is 0 to 128'],
      [['10.0.0.0/08'], 0, '"10.0.0.0/08": the prefix length of an IPv4 block is 0 to 32'],
      [['10.0.0.0/'], 0, '"10.0.0.0/": the prefix length of an IPv4 block is 0 to 32'],
      [['10.0.0.1/8'], 0, '"10.0.0.1/8" has bits set past its /8 prefix; did you mean "10.0.0.0/8"?'],
      [['2001:db8::1/32'], 0, '"2001:db8::1/32" has bits set past its /32 prefix; did you mean "2001:db8::/32"?'],
      [['[::1]'], 0, '"[::1]": write an IPv6 address without brackets'],
      [['fe80::1%eth0'], 0, '"fe80::1%eth0": a zone (%) has no place in an address list'],
      [['010.0.0.1'], 0, '"010.0.0.1" is not an IP address or CIDR block such as "10.0.0.0/8", "192.0.2.7", "2001:db8::/32" or "::1"'],
    ];
    for (const [entries, index, message] of cases) {
      const err = thrown(entries);
      expect({ entry: err.entry, index: err.index, message: err.message, code: err.code, name: err.name }).toEqual({
        entry: entries[index],
        index,
        message,
        code: 'RXLB_ERR',
        name: 'AddressListError',
      });
    }
  });
});
