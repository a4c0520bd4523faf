import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Rxlb, listeningPort, startRxlb, writeTemp } from '../integration/harness.js';
import { cleanUp, freePort, requireBinaries, run, scratchDir, startServer, waitForPort, which } from './servers.js';

/** One `openssl s_server` with its own self-signed certificate, made for the test. */
interface TlsBackend {
  readonly name: string;
  readonly address: string;
  /** Its certificate, PEM, as a client should see it. */
  readonly cert: string;
  readonly certFile: string;
}

/** A self-signed certificate for `names` (the first is the subject), and its key. */
async function selfSigned(openssl: string, dir: string, file: string, names: readonly string[]): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, `${file}.crt`);
  const keyFile = join(dir, `${file}.key`);
  const made = await run(openssl, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${names[0]}`,
    '-addext',
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  if (made.code !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
  return { certFile, keyFile };
}

/**
 * An `openssl s_server` on 127.0.0.1 with a certificate of its own for `names`, choosing
 * among `alpn` in its order of preference; with `-www` it answers an HTTP GET with a page.
 */
async function startTlsBackend(openssl: string, dir: string, name: string, names: readonly string[], alpn: string): Promise<TlsBackend> {
  const { certFile, keyFile } = await selfSigned(openssl, dir, name, names);
  const port = await freePort();
  const server = startServer(openssl, ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', certFile, '-key', keyFile, '-alpn', alpn, '-www', '-quiet']);
  await waitForPort(port, 10_000, server);
  return { name, address: `127.0.0.1:${port}`, cert: readFileSync(certFile, 'utf8'), certFile };
}

/** The PEM certificate a `openssl s_client` printed as the server's. */
function peerCertificate(output: string): string | undefined {
  return /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(output)?.[0];
}

describe('interop: TLS passthrough by server name to openssl s_server backends', () => {
  if (!requireBinaries('openssl and curl', ['openssl', 'curl'], 'openssl curl')) return;
  const openssl = which('openssl') as string;
  const curl = which('curl') as string;
  cleanUp();
  const dir = scratchDir('tls');
  let api: TlsBackend;
  let www: TlsBackend;
  let h2: TlsBackend;

  beforeAll(async () => {
    // two names, three servers: www.example.com offered h2 goes to a server of its own
    [api, www, h2] = await Promise.all([
      startTlsBackend(openssl, dir, 'api', ['api.example.com'], 'h2,http/1.1'),
      startTlsBackend(openssl, dir, 'www', ['www.example.com', '*.example.com'], 'h2,http/1.1'),
      startTlsBackend(openssl, dir, 'h2', ['www.example.com', '*.example.com'], 'h2'),
    ]);
  });

  /** rxlb with one listener in front of the three, by name and protocol, and no default pool. */
  function startEdge(): Rxlb {
    const config = [
      '[[listener]]',
      'name = "edge"',
      'bind = "127.0.0.1:0"',
      '',
      '[[listener.route]]',
      'sni = ["api.example.com"]',
      'pool = "api"',
      '',
      '[[listener.route]]',
      'sni = ["*.example.com"]',
      'alpn = ["h2"]',
      'pool = "h2"',
      '',
      '[[listener.route]]',
      'sni = ["*.example.com"]',
      'pool = "www"',
      '',
      ...[api, www, h2].flatMap((b) => [`[[pool.${b.name}.backend]]`, `address = "${b.address}"`, '']),
    ].join('\n');
    return startRxlb(['-c', writeTemp(config)]);
  }

  /** `openssl s_client` through rxlb: the handshake, then the end of its input. */
  const sClient = (port: number, servername: string, alpn: string, caFile: string) =>
    run(openssl, ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-alpn', alpn, '-CAfile', caFile, '-verify_return_error', '-verify_hostname', servername], {
      input: Buffer.alloc(0),
      timeoutMs: 10_000,
    });

  it('openssl s_client reaches each backend by server name and ALPN, and sees that backend\'s own certificate', async () => {
    const rxlb = startEdge();
    const port = await listeningPort(rxlb, 'edge');
    const cases = [
      { servername: 'api.example.com', alpn: 'h2,http/1.1', backend: api, protocol: 'h2' },
      { servername: 'www.example.com', alpn: 'h2,http/1.1', backend: h2, protocol: 'h2' },
      { servername: 'WWW.example.com', alpn: 'http/1.1', backend: www, protocol: 'http/1.1' },
    ];
    for (const { servername, alpn, backend, protocol } of cases) {
      const out = await sClient(port, servername, alpn, backend.certFile);
      expect(out.code, `${servername} ${alpn}: ${out.stderr}`).toBe(0);
      expect(peerCertificate(out.stdout), servername).toBe(backend.cert);
      expect(out.stdout).toContain('Verify return code: 0 (ok)');
      expect(out.stdout).toContain(`ALPN protocol: ${protocol}`);
    }
    const records = await Promise.all([api, h2, www].map((b) => rxlb.waitFor((r) => r.msg === 'connection closed' && r.backend === b.address)));
    expect(records.map((r) => [r.sni, r.route])).toEqual([
      ['api.example.com', 0],
      ['www.example.com', 1],
      ['www.example.com', 2],
    ]);
    // the three certificates are three: none could pass for another
    expect(new Set([api.cert, www.cert, h2.cert]).size).toBe(3);
  });

  it('curl --resolve reaches each name over HTTP/1.1 and verifies its backend\'s own certificate, and only that one', async () => {
    const rxlb = startEdge();
    const port = await listeningPort(rxlb, 'edge');
    const get = (name: string, caFile: string) =>
      run(curl, ['-sS', '--http1.1', '--cacert', caFile, '--resolve', `${name}:${port}:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_code} %{ssl_verify_result}', `https://${name}:${port}/`], { timeoutMs: 10_000 });
    const viaApi = await get('api.example.com', api.certFile);
    expect([viaApi.code, viaApi.stdout, viaApi.stderr]).toEqual([0, '200 0', '']);
    const viaWww = await get('www.example.com', www.certFile);
    expect([viaWww.code, viaWww.stdout, viaWww.stderr]).toEqual([0, '200 0', '']);
    // www's certificate does not vouch for the api backend: curl fails to verify (exit 60)
    const wrong = await get('api.example.com', www.certFile);
    expect(wrong.code).toBe(60);
    const records = await Promise.all([api, www].map((b) => rxlb.waitFor((r) => r.msg === 'connection closed' && r.backend === b.address)));
    expect(records.map((r) => [r.sni, r.route])).toEqual([
      ['api.example.com', 0],
      ['www.example.com', 2],
    ]);
  });

  it('closes a connection for a name no route takes, before any backend sees it', async () => {
    const rxlb = startEdge();
    const port = await listeningPort(rxlb, 'edge');
    const out = await sClient(port, 'other.test', 'h2', api.certFile);
    expect(out.code).not.toBe(0);
    expect(peerCertificate(out.stdout)).toBeUndefined();
    expect(await rxlb.waitFor((r) => r.msg === 'connection closed')).toMatchObject({ reason: 'no_route', sni: 'other.test', backend: null });
  });
});
