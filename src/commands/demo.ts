import { of, share, tap } from 'rxjs';
import { quickConfig } from '../config/quick.js';
import { fetchText, startDemoBackend } from '../io/demo-http.js';
import { createLogger } from '../log/logger.js';
import { run } from '../daemon/run.js';
import { shutdownSignal$ } from '../daemon/signals.js';
import { reportError } from './report.js';

const say = (text: string): void => void process.stdout.write(`${text}\n`);

/**
 * `rxlb demo`: two HTTP backends and a round-robin listener in front, all on loopback.
 * It sends four requests through the balancer to show the turns, then keeps running
 * for the user to try, until Ctrl-C.
 */
export async function demoCommand(): Promise<number> {
  const backends = await Promise.all([startDemoBackend('backend-a'), startDemoBackend('backend-b')]);
  const config = quickConfig({ backends: backends.map((b) => b.address), listen: '127.0.0.1:0' });
  const log = createLogger({ level: 'info', format: process.stdout.isTTY ? 'text' : 'json' });
  const stop$ = shutdownSignal$().pipe(
    tap(() => say('\nrxlb demo: draining and stopping…')),
    share(),
  );
  let admin = '';
  try {
    await run({
      config$: of(config),
      stop$,
      log,
      admin: { listen: { host: '127.0.0.1', port: 0 }, token: undefined },
      onAdmin: (address) => (admin = address),
      onEvent: (event) => {
        if (event.type === 'listening') void showOff(event.address, backends.map((b) => b.address), () => admin);
      },
    });
    return 0;
  } catch (err) {
    reportError(err);
    return 1;
  } finally {
    await Promise.all(backends.map((b) => b.close()));
    await log.close();
  }
}

async function showOff(address: string, backends: readonly string[], admin: () => string): Promise<void> {
  say(`\nrxlb demo: two HTTP backends on ${backends.join(' and ')}, balanced round robin by rxlb on ${address}.`);
  for (let i = 1; i <= 4; i += 1) {
    const body = await fetchText(`http://${address}/request-${i}`).catch((err: unknown) => `failed: ${String(err)}\n`);
    say(`  request ${i} -> ${body.trimEnd()}`);
  }
  say(`\nTry it yourself:   curl http://${address}/`);
  say(`Watch it:          curl http://${admin()}/status   (and /metrics)`);
  say('Each connection goes to the next backend; the log shows one "connection closed" record per connection.');
  say('Press Ctrl-C to stop (open connections are drained first).\n');
}
