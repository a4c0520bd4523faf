// Load generator: runs ONE scenario against ONE target and prints JSON lines on stdout.
//
//   node bench/load.js '<json spec>'
//
// spec: { scenario, addrs: ["127.0.0.1:port", ...], warmup (s), duration (s), ... }
//   scenario "bulk-up" | "bulk-down"  streams
//   scenario "rr"                     conns
//   scenario "connrate"               concurrency
//   scenario "idle"                   count, concurrency
// Several addrs are used in turn (round robin), one per new connection; that is how
// the `direct` target spreads over both backends.
//
// Lines printed (one JSON object each):
//   {"event":"measure"}    the measured window starts (the parent samples proxy CPU)
//   {"event":"measured"}   the measured window ends
//   {"event":"ready", ...} idle only: all connections are established end to end; the
//                          parent samples RSS, then writes "close\n" on our stdin
//   {"event":"result", ...} the figures, last line; exit 0
// Exits (1) when stdin closes early (the parent has gone) or on a fatal error.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { REQ_SIZE, RESP_SIZE } from './protocol.js';

const spec = JSON.parse(process.argv[2] ?? '{}');
const addrs = /** @type {string[]} */ (spec.addrs ?? []).map((a) => {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
});
if (addrs.length === 0) fail('no target address');

let next = 0;
/** @returns {{host: string, port: number}} */
const pick = () => addrs[next++ % addrs.length];

const CHUNK = Buffer.alloc(64 * 1024, 0x75); // never a zero byte: see backends.js 'U'
const END_MARK = Buffer.from([0]);
const MIB = 1024 * 1024;
const SOCKET_TIMEOUT_MS = 10_000;

/** @param {object} obj */
function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** @param {string} msg */
function fail(msg) {
  process.stderr.write(`load: ${msg}\n`);
  process.exit(1);
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {number[] | Float64Array} values
 * @param {number} p 0..100
 */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

/** @param {number[]} lat */
function latencyStats(lat) {
  const sorted = Float64Array.from(lat).sort();
  const r = (v) => (v === null ? null : Math.round(v));
  return { p50_us: r(percentile(sorted, 50)), p90_us: r(percentile(sorted, 90)), p99_us: r(percentile(sorted, 99)), max_us: r(percentile(sorted, 100)) };
}

// ---------------------------------------------------------------- bulk

/**
 * One upload stream: write for `seconds`, then the end marker (a zero byte), wait for the
 * backend's 8-byte count, then close.
 * @param {number} seconds
 * @returns {Promise<{bytes: number, t0: number, t1: number}>}
 */
function uploadStream(seconds) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const socket = net.connect({ ...pick(), noDelay: true });
    socket.setTimeout(SOCKET_TIMEOUT_MS, () => socket.destroy(new Error('upload: socket timeout')));
    /** @type {Buffer[]} */
    const reply = [];
    let ended = false;
    const pump = () => {
      while (!ended) {
        if (performance.now() >= deadline) {
          ended = true;
          socket.write(END_MARK);
          return;
        }
        if (!socket.write(CHUNK)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.on('connect', () => {
      socket.write('U');
      pump();
    });
    let t1 = 0;
    socket.on('data', (d) => {
      reply.push(d);
      const buf = Buffer.concat(reply);
      if (buf.length >= 8 && t1 === 0) {
        t1 = performance.now();
        socket.end();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const buf = Buffer.concat(reply);
      if (buf.length !== 8) {
        reject(new Error(`upload: expected an 8-byte count from the backend, got ${buf.length} bytes`));
        return;
      }
      resolve({ bytes: Number(buf.readBigUInt64BE()), t0, t1 });
    });
  });
}

/**
 * One download stream: receive for `seconds`, then ask the backend to stop and wait for
 * its end. Bytes are counted up to the moment the stop is sent.
 * @param {number} seconds
 * @returns {Promise<{bytes: number, t0: number, t1: number}>}
 */
function downloadStream(seconds) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let t1 = 0;
    let bytes = 0;
    let counting = true;
    const socket = net.connect({ ...pick(), noDelay: true });
    socket.setTimeout(SOCKET_TIMEOUT_MS, () => socket.destroy(new Error('download: socket timeout')));
    socket.on('connect', () => {
      socket.write('D');
      setTimeout(() => {
        counting = false;
        t1 = performance.now();
        socket.write('x');
      }, seconds * 1000);
    });
    socket.on('data', (d) => {
      if (counting) bytes += d.length;
    });
    socket.on('error', reject);
    socket.on('close', (hadError) => {
      if (counting) reject(new Error(`download: connection closed early after ${bytes} bytes`));
      else if (!hadError) resolve({ bytes, t0, t1 });
    });
  });
}

/** @param {'bulk-up' | 'bulk-down'} kind */
async function bulk(kind) {
  const streams = spec.streams ?? 1;
  const run = async (seconds) => {
    const one = kind === 'bulk-up' ? uploadStream : downloadStream;
    const results = await Promise.all(Array.from({ length: streams }, () => one(seconds)));
    const t0 = Math.min(...results.map((r) => r.t0));
    const t1 = Math.max(...results.map((r) => r.t1));
    const bytes = results.reduce((s, r) => s + r.bytes, 0);
    return { bytes, seconds: (t1 - t0) / 1000, per_stream_mib: results.map((r) => r.bytes / MIB) };
  };
  if (spec.warmup > 0) await run(spec.warmup);
  emit({ event: 'measure' });
  const r = await run(spec.duration);
  emit({ event: 'measured' });
  return {
    streams,
    bytes: r.bytes,
    seconds: r.seconds,
    mib_per_s: r.bytes / MIB / r.seconds,
    per_stream_mib: r.per_stream_mib.map((v) => Math.round(v)),
  };
}

// ---------------------------------------------------------------- windowed loops

/**
 * Runs for warmup + duration; `inWindow()` tells whether now is inside the measured window.
 * @returns {{ inWindow: () => boolean, stopping: () => boolean, done: Promise<void>, windowSeconds: () => number }}
 */
function timeWindow() {
  let state = 'warmup';
  let wStart = 0;
  let wEnd = 0;
  const done = new Promise((resolve) => {
    const startWindow = () => {
      state = 'measure';
      wStart = performance.now();
      emit({ event: 'measure' });
      setTimeout(() => {
        state = 'stopping';
        wEnd = performance.now();
        emit({ event: 'measured' });
        resolve();
      }, spec.duration * 1000);
    };
    if (spec.warmup > 0) setTimeout(startWindow, spec.warmup * 1000);
    else startWindow();
  });
  return {
    inWindow: () => state === 'measure',
    stopping: () => state === 'stopping',
    done,
    windowSeconds: () => (wEnd - wStart) / 1000,
  };
}

/** Keep-alive request/response: `conns` connections, each sequential. */
async function requestResponse() {
  const conns = spec.conns ?? 32;
  const request = Buffer.alloc(REQ_SIZE, 0x71);
  const first = Buffer.concat([Buffer.from('R'), request]);
  /** @type {number[]} */
  const lat = [];
  let completed = 0;
  let errors = 0;
  /** @type {string | undefined} */
  let firstError;

  // connect all first, so connection set-up is not in the window
  /** @type {net.Socket[]} */
  const sockets = await Promise.all(
    Array.from({ length: conns }, () =>
      new Promise((resolve, reject) => {
        const s = net.connect({ ...pick(), noDelay: true }, () => resolve(s));
        s.once('error', reject);
      }),
    ),
  );
  const win = timeWindow();
  const finished = sockets.map(
    (socket) =>
      new Promise((resolve) => {
        let got = 0;
        let sent = 0;
        let firstSent = false;
        socket.setTimeout(SOCKET_TIMEOUT_MS, () => socket.destroy(new Error('rr: socket timeout')));
        socket.on('error', (err) => {
          errors++;
          firstError ??= err.message;
        });
        socket.on('close', () => {
          if (!win.stopping()) {
            errors++;
            firstError ??= 'rr: connection closed during the run';
          }
          resolve();
        });
        const send = () => {
          sent = performance.now();
          socket.write(firstSent ? request : first);
          firstSent = true;
          got = 0;
        };
        socket.on('data', (d) => {
          got += d.length;
          if (got < RESP_SIZE) return;
          if (got > RESP_SIZE) {
            errors++;
            firstError ??= `rr: response of ${got} bytes`;
          }
          const now = performance.now();
          if (win.inWindow()) {
            completed++;
            lat.push((now - sent) * 1000);
          }
          if (win.stopping()) {
            socket.end();
            return;
          }
          send();
        });
        send();
      }),
  );
  await win.done;
  await Promise.race([Promise.all(finished), sleep(5000)]);
  for (const s of sockets) s.destroy();
  const seconds = win.windowSeconds();
  return { conns, requests: completed, seconds, req_per_s: completed / seconds, errors, first_error: firstError, ...latencyStats(lat) };
}

/** New connections: connect, one request, one response, the backend closes. */
async function connectionRate() {
  const concurrency = spec.concurrency ?? 32;
  const msg = Buffer.concat([Buffer.from('C'), Buffer.alloc(REQ_SIZE, 0x71)]);
  /** @type {number[]} */
  const lat = [];
  let completed = 0;
  let errors = 0;
  /** @type {string | undefined} */
  let firstError;
  const win = timeWindow();

  const once = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      let got = 0;
      let failed = false;
      const socket = net.connect({ ...pick(), noDelay: true });
      socket.setTimeout(SOCKET_TIMEOUT_MS, () => socket.destroy(new Error('connrate: socket timeout')));
      socket.on('connect', () => socket.write(msg));
      socket.on('data', (d) => {
        got += d.length;
      });
      socket.on('error', (err) => {
        failed = true;
        errors++;
        firstError ??= err.message;
      });
      socket.on('close', () => {
        if (!failed && got !== RESP_SIZE) {
          failed = true;
          errors++;
          firstError ??= `connrate: response of ${got} bytes`;
        }
        if (!failed && win.inWindow()) {
          completed++;
          lat.push((performance.now() - t0) * 1000);
        }
        resolve(!failed);
      });
    });

  const worker = async () => {
    while (!win.stopping()) {
      const ok = await once();
      if (!ok) await sleep(10);
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await win.done;
  await Promise.race([Promise.all(workers), sleep(SOCKET_TIMEOUT_MS + 1000)]);
  const seconds = win.windowSeconds();
  return { concurrency, connections: completed, seconds, conn_per_s: completed / seconds, errors, first_error: firstError, ...latencyStats(lat) };
}

// ---------------------------------------------------------------- idle connections

/** Opens `count` idle connections, each established end to end (greeting received). */
async function idle() {
  const count = spec.count ?? 5000;
  const concurrency = spec.concurrency ?? 200;
  /** @type {net.Socket[]} */
  const open = [];
  let errors = 0;
  /** @type {string | undefined} */
  let firstError;
  let closedEarly = 0;
  let phase = 'opening';
  const t0 = performance.now();

  const one = () =>
    new Promise((resolve) => {
      const socket = net.connect({ ...pick(), noDelay: true });
      let settled = false;
      const settle = (ok, why) => {
        if (settled) return;
        settled = true;
        socket.setTimeout(0);
        if (ok) open.push(socket);
        else {
          errors++;
          firstError ??= why;
          socket.destroy();
        }
        resolve(ok);
      };
      socket.setTimeout(SOCKET_TIMEOUT_MS, () => settle(false, 'idle: no greeting within 10 s'));
      socket.on('connect', () => socket.write('G'));
      socket.once('data', (d) => settle(d[0] === 0x67, `idle: unexpected greeting ${d[0]}`));
      socket.on('error', (err) => settle(false, err.message));
      socket.on('close', () => {
        if (settled && phase !== 'closing') closedEarly++;
        settle(false, 'idle: closed before the greeting');
      });
    });

  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const openSeconds = (performance.now() - t0) / 1000;
  phase = 'ready';
  emit({ event: 'ready', established: open.length, errors, first_error: firstError, open_seconds: openSeconds });

  // wait for "close" from the parent
  await new Promise((resolve) => {
    let buf = '';
    process.stdin.on('data', (d) => {
      buf += d;
      if (buf.includes('close')) resolve();
    });
  });
  const stillOpen = open.length - closedEarly;
  phase = 'closing';
  await Promise.race([
    Promise.all(
      open.map(
        (s) =>
          new Promise((resolve) => {
            if (s.destroyed) resolve();
            else {
              s.once('close', resolve);
              s.end();
            }
          }),
      ),
    ),
    sleep(10_000),
  ]);
  for (const s of open) s.destroy();
  return { count, established: open.length, closed_early: closedEarly, still_open: stillOpen, errors, first_error: firstError, open_seconds: openSeconds };
}

// ---------------------------------------------------------------- main

process.stdin.on('end', () => fail('stdin closed: parent gone'));
process.stdin.resume();
if (spec.timeout > 0) {
  setTimeout(() => fail(`scenario ${spec.scenario} exceeded ${spec.timeout} s`), spec.timeout * 1000).unref();
}

/** @type {Record<string, () => Promise<object>>} */
const scenarios = {
  'bulk-up': () => bulk('bulk-up'),
  'bulk-down': () => bulk('bulk-down'),
  rr: requestResponse,
  connrate: connectionRate,
  idle,
};
const run = scenarios[spec.scenario];
if (!run) fail(`unknown scenario ${spec.scenario}`);
try {
  const result = await run();
  emit({ event: 'result', scenario: spec.scenario, ...result });
  process.exit(0);
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
