import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6, mappedIPv4, newGroups, parseIp, parseIPv4, parseIPv6 } from '../../../src/wire/ip.js';

const groupsOf = (text: string): number[] | undefined => {
  const groups = newGroups();
  return parseIPv6(text, groups) ? [...groups] : undefined;
};

describe('parseIPv4', () => {
  it('reads four decimal numbers from 0 to 255 as one unsigned number', () => {
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('192.0.2.1')).toBe(0xc0000201);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4('x10.0.0.1y', 1, 9)).toBe(0x0a000001);
  });

  it('refuses anything else, a leading zero included', () => {
    for (const text of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.00', '256.0.0.1', '1..2.3', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-4', 'a.b.c.d', '1.2.3.', '.1.2.3', '1.2.3.4/8']) {
      expect(parseIPv4(text), text).toBe(-1);
    }
  });
});

describe('parseIPv6', () => {
  it('reads groups, one :: and a dotted IPv4 tail', () => {
    expect(groupsOf('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(groupsOf('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(groupsOf('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(groupsOf('2001:DB8::ff:0:1')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0xff, 0, 1]);
    expect(groupsOf('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(groupsOf('::ffff:192.0.2.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]);
    expect(groupsOf('1:2:3:4:5:6:1.2.3.4')).toEqual([1, 2, 3, 4, 5, 6, 0x0102, 0x0304]);
  });

  it('refuses what is not one address', () => {
    for (const text of ['', ':', ':::', '1:', ':1', '1:::2', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2:3:4:5:6:7:8', '12345::', 'g::', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4:5', '1.2.3.4', '::ffff:01.2.3.4', 'fe80::1%eth0']) {
      expect(groupsOf(text), text).toBeUndefined();
    }
  });
});

describe('formatIPv6', () => {
  const canonical = (text: string): string => {
    const groups = newGroups();
    expect(parseIPv6(text, groups), text).toBe(true);
    return formatIPv6(groups);
  };

  it('writes the longest run of zero groups (the first of equals, two at least) as ::, in lower case', () => {
    expect(canonical('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonical('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonical('2001:0DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonical('1:0:0:1:0:0:0:1')).toBe('1:0:0:1::1');
    expect(canonical('1:0:0:2:0:0:3:4')).toBe('1::2:0:0:3:4');
    expect(canonical('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7');
    expect(canonical('1:2:3:4:5:6:7:0')).toBe('1:2:3:4:5:6:7:0');
    expect(canonical('1:2:3:4:5:6:0:0')).toBe('1:2:3:4:5:6::');
  });

  it('writes IPv4-mapped and IPv4-compatible addresses with a dotted tail, as Node does', () => {
    expect(canonical('0:0:0:0:0:ffff:c000:201')).toBe('::ffff:192.0.2.1');
    expect(canonical('::ffff:0:0')).toBe('::ffff:0.0.0.0');
    expect(canonical('::102:304')).toBe('::1.2.3.4');
    expect(canonical('::1:0')).toBe('::0.1.0.0');
    expect(canonical('::fffe:1:2')).toBe('::fffe:1:2');
  });
});

describe('mappedIPv4, formatIPv4 and parseIp', () => {
  it('sees an IPv4-mapped address as the IPv4 address it stands for', () => {
    const groups = newGroups();
    parseIPv6('::ffff:10.1.2.3', groups);
    expect(formatIPv4(mappedIPv4(groups))).toBe('10.1.2.3');
    parseIPv6('::fffe:a01:203', groups);
    expect(mappedIPv4(groups)).toBe(-1);
  });

  it('parseIp gives the family, mapped addresses as IPv4, and ignores a zone', () => {
    expect(parseIp('10.1.2.3')).toEqual({ family: 4, v4: 0x0a010203 });
    expect(parseIp('::ffff:10.1.2.3')).toEqual({ family: 4, v4: 0x0a010203 });
    expect(parseIp('fe80::1%eth0')).toEqual({ family: 6, groups: new Uint16Array([0xfe80, 0, 0, 0, 0, 0, 0, 1]) });
    expect(parseIp('10.1.2.3%eth0')).toBeUndefined();
    expect(parseIp('example.com')).toBeUndefined();
  });
});
