import { describe, expect, it } from 'vitest';
import { pool } from '../../../marble/fixtures.js';
import { datagramHeader } from '../../../../src/streams/udp/datagram-header.js';

const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('hex');
const SIGNATURE = '0d0a0d0a000d0a515549540a';

describe('datagramHeader', () => {
  it('is a v2 PROXY header with the DGRAM transport, from the client to the listener, for a "v2" pool', () => {
    const header = datagramHeader(pool([], { proxyProtocol: 'v2' }), { address: '192.0.2.1', port: 40000 }, { address: '198.51.100.7', port: 53 });
    // PROXY command, AF_INET + DGRAM (0x12), 12 bytes: source, destination, source port, destination port
    expect(hex(header)).toBe(`${SIGNATURE}21` + '12' + '000c' + 'c0000201' + 'c6336407' + '9c40' + '0035');
  });

  it('writes both ends as IPv6 when both are, and an IPv4-mapped client with an IPv4 listener as IPv4', () => {
    const v6 = datagramHeader(pool([], { proxyProtocol: 'v2' }), { address: '2001:db8::1', port: 1 }, { address: '::1', port: 2 });
    expect(hex(v6)).toBe(`${SIGNATURE}21` + '22' + '0024' + '20010db8000000000000000000000001' + '00000000000000000000000000000001' + '0001' + '0002');
    const mapped = datagramHeader(pool([], { proxyProtocol: 'v2' }), { address: '::ffff:10.1.2.3', port: 1 }, { address: '10.0.0.1', port: 2 });
    expect(hex(mapped)).toBe(`${SIGNATURE}21` + '12' + '000c' + '0a010203' + '0a000001' + '0001' + '0002');
  });

  it('is AF_UNSPEC with no address when the two ends cannot be written together, or the listener is not bound yet', () => {
    const mixed = datagramHeader(pool([], { proxyProtocol: 'v2' }), { address: '2001:db8::1', port: 1 }, { address: '10.0.0.1', port: 2 });
    expect(hex(mixed)).toBe(`${SIGNATURE}21` + '00' + '0000');
    expect(hex(datagramHeader(pool([], { proxyProtocol: 'v2' }), { address: '10.0.0.9', port: 1 }, undefined))).toBe(`${SIGNATURE}21` + '00' + '0000');
  });

  it('is none for a pool that sends no header, or a v1 one (v1 has no datagram form)', () => {
    expect(datagramHeader(pool([]), { address: '192.0.2.1', port: 1 }, { address: '10.0.0.1', port: 2 })).toBeUndefined();
    expect(datagramHeader(pool([], { proxyProtocol: 'v1' }), { address: '192.0.2.1', port: 1 }, { address: '10.0.0.1', port: 2 })).toBeUndefined();
    expect(datagramHeader(undefined, { address: '192.0.2.1', port: 1 }, { address: '10.0.0.1', port: 2 })).toBeUndefined();
  });
});
