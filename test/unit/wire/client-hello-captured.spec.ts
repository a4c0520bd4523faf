import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClientHelloReader } from '../../../src/wire/client-hello.js';

/**
 * Hellos of real clients, captured by `fixtures/capture-hellos.js` from what each sent to
 * a plain TCP socket (the `.txt` beside each says which client, version and command).
 */
const fixture = (name: string): Buffer => Buffer.from(readFileSync(new URL(`fixtures/${name}.hex`, import.meta.url), 'utf8').replace(/\s/g, ''), 'hex');

const CAPTURED: readonly { readonly name: string; readonly sni: string | undefined; readonly alpn: readonly string[] }[] = [
  { name: 'openssl-sni-alpn', sni: 'api.example.com', alpn: ['h2', 'http/1.1'] },
  { name: 'openssl-no-sni', sni: undefined, alpn: [] },
  { name: 'openssl-tls12-sni', sni: 'www.example.com', alpn: [] }, // sent as WWW.Example.com
  { name: 'curl-sni-alpn', sni: 'api.example.com', alpn: ['h2', 'http/1.1'] },
  { name: 'curl-http11', sni: 'www.example.com', alpn: ['http/1.1'] },
  { name: 'curl-ip-no-sni', sni: undefined, alpn: ['h2', 'http/1.1'] }, // curl sends no SNI for an IP address
  { name: 'curl-no-alpn', sni: 'api.example.com', alpn: [] },
];

describe('ClientHelloReader on hellos captured from openssl s_client and curl', () => {
  for (const { name, sni, alpn } of CAPTURED) {
    const bytes = fixture(name);
    const answer = { kind: 'hello', sni, alpn };

    it(`${name}: reads sni ${sni ?? '(none)'} and alpn [${alpn.join(', ')}] from the whole hello`, () => {
      expect(bytes[0]).toBe(0x16); // a handshake record, as captured
      expect(new ClientHelloReader().push(bytes)).toEqual(answer);
    });

    it(`${name}: reads the same however the ${bytes.length} bytes are split in two, and needs more before the last byte`, () => {
      for (let cut = 0; cut <= bytes.length; cut += 1) {
        const reader = new ClientHelloReader();
        const first = reader.push(bytes.subarray(0, cut));
        expect(first, `cut at ${cut}`).toEqual(cut === bytes.length ? answer : { kind: 'more' });
        expect(reader.push(bytes.subarray(cut)), `cut at ${cut}`).toEqual(answer);
      }
    });

    it(`${name}: reads the same byte by byte, answering at the last byte only`, () => {
      const reader = new ClientHelloReader();
      const answers = [...bytes].map((b) => reader.push(Buffer.from([b])));
      expect(answers.slice(0, -1).every((a) => a.kind === 'more')).toBe(true);
      expect(answers.at(-1)).toEqual(answer);
    });

    it(`${name}: reads the same in three pieces cut at every pair of places a few bytes apart`, () => {
      for (let a = 0; a < bytes.length; a += 1) {
        const b = Math.min(bytes.length, a + 1 + (a % 7));
        const reader = new ClientHelloReader();
        reader.push(bytes.subarray(0, a));
        reader.push(bytes.subarray(a, b));
        expect(reader.push(bytes.subarray(b)), `cut at ${a} and ${b}`).toEqual(answer);
      }
    });

    it(`${name}: ignores application data after the hello`, () => {
      expect(new ClientHelloReader().push(Buffer.concat([bytes, Buffer.from('\x17\x03\x03\x00\x05hello', 'latin1')]))).toEqual(answer);
    });
  }
});
