import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { listeningPort, type Rxlb, startRxlb, writeTemp } from '../integration/harness.js';
import { cleanUp, closedRecords, freePort, requireBinaries, run, rxlbConfig, scratchDir, startServer, which } from './servers.js';

const MiB = 1024 * 1024;

/** Encodes one command as a RESP array of bulk strings. */
function encode(args: readonly (string | Buffer)[]): Buffer {
  const parts = args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
  return Buffer.concat([Buffer.from(`*${parts.length}\r\n`), ...parts.flatMap((p) => [Buffer.from(`$${p.length}\r\n`), p, Buffer.from('\r\n')])]);
}

/** The whole of one RESP reply at the start of `data` (simple, error, integer or bulk), or undefined while incomplete. */
function decode(data: Buffer): Buffer | undefined {
  const eol = data.indexOf('\r\n');
  if (eol < 0) return undefined;
  const head = data.subarray(0, eol).toString('latin1');
  if (head[0] !== '$') return data.subarray(0, eol);
  const length = Number(head.slice(1));
  if (length < 0) return Buffer.from('(nil)');
  return data.length >= eol + 2 + length + 2 ? data.subarray(eol + 2, eol + 2 + length) : undefined;
}

/** Sends one command to 127.0.0.1:port and resolves with its reply: a bulk string's bytes, or the status line. */
function command(port: number, args: readonly (string | Buffer)[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no reply from ${port} within 10 s`)));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const reply = decode(Buffer.concat(chunks));
      if (reply !== undefined) {
        socket.end();
        resolve(Buffer.from(reply));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before a whole reply')));
    socket.write(encode(args));
  });
}

cleanUp();

describe('redis-server behind rxlb, driven by redis-benchmark and redis-cli', { timeout: 60_000 }, () => {
  if (!requireBinaries('redis', ['redis-server', 'redis-benchmark', 'redis-cli'], 'redis-server redis-tools')) return;
  const benchmark = which('redis-benchmark') ?? 'redis-benchmark';
  const cli = which('redis-cli') ?? 'redis-cli';
  const dir = scratchDir('redis');
  let redisPort = 0;

  beforeAll(async () => {
    redisPort = await freePort();
    const redis = startServer(which('redis-server') ?? 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir });
    await redis.waitForOutput(/Ready to accept connections/);
  });

  async function rxlbInFront(): Promise<{ rxlb: Rxlb; port: number }> {
    const rxlb = startRxlb(['-c', writeTemp(rxlbConfig('redis', '127.0.0.1:0', [`127.0.0.1:${redisPort}`]))]);
    return { rxlb, port: await listeningPort(rxlb, 'redis') };
  }

  it('runs redis-benchmark (set, get, incr, lpush, lpop; 50 clients) through rxlb with no error', async () => {
    const { rxlb, port } = await rxlbInFront();
    const result = await run(benchmark, ['-h', '127.0.0.1', '-p', String(port), '-q', '-n', '20000', '-c', '50', '-t', 'set,get,incr,lpush,lpop', '--csv'], { timeoutMs: 60_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result, output).toMatchObject({ code: 0, signal: null });
    expect(output.split(/[\r\n]+/).filter((line) => /error|warning|could not|reset|refused/i.test(line))).toEqual([]);
    // "test","rps","avg_latency_ms",...: one row per test
    const rows = result.stdout.split('\n').slice(1).filter((l) => l !== '').map((l) => l.split(',').map((f) => f.replaceAll('"', '')));
    const rps: Record<string, number> = Object.fromEntries(rows.map(([test, perSecond]) => [test ?? '', Number(perSecond)]));
    console.log(`interop: redis-benchmark through rxlb (requests/s): ${JSON.stringify(rps)}`);
    expect(Object.keys(rps).sort()).toEqual(['GET', 'INCR', 'LPOP', 'LPUSH', 'SET']);
    expect(Object.values(rps).every((v) => v > 0)).toBe(true);
    // redis itself saw every command, exactly once
    const stats = (await command(redisPort, ['INFO', 'commandstats'])).toString();
    const calls = Object.fromEntries([...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map(([, name, n]) => [name, Number(n)]));
    expect(calls).toMatchObject({ set: 20000, get: 20000, incr: 20000, lpush: 20000, lpop: 20000 });
    // redis-benchmark reads the server's CONFIG on one connection, then opens 50 per test
    // and closes them after it: every one logged, finished cleanly, with its backend
    await rxlb.waitFor(() => closedRecords(rxlb.records).length >= 5 * 50 + 1, 15_000);
    const closed = closedRecords(rxlb.records);
    expect(closed).toHaveLength(5 * 50 + 1);
    expect(closed.filter((c) => c.reason !== 'client_closed' && c.reason !== 'backend_closed')).toEqual([]);
    expect(closed.every((c) => c.backend === `127.0.0.1:${redisPort}`)).toBe(true);
  });

  it('stores a 1 MiB binary value SET by redis-cli through rxlb, read back byte-exact from redis itself', async () => {
    const { port } = await rxlbInFront();
    const value = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(MiB - 256)]);
    const set = await run(cli, ['-h', '127.0.0.1', '-p', String(port), '-x', 'SET', 'interop:value'], { input: value, timeoutMs: 20_000 });
    expect(set, set.stderr).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect((await command(redisPort, ['GET', 'interop:value'])).equals(value)).toBe(true);
    // and the other way: set directly, read through rxlb
    const other = randomBytes(MiB);
    expect((await command(redisPort, ['SET', 'interop:other', other])).toString()).toBe('+OK');
    expect((await command(port, ['GET', 'interop:other'])).equals(other)).toBe(true);
  });
});
