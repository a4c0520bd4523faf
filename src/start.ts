import { of, share, tap } from 'rxjs';
import type { RootOptions } from './cli.js';
import { reportError } from './commands/report.js';
import { loadConfig } from './commands/load-config.js';
import { createLogger } from './log/logger.js';
import { levelFor } from './log/levels.js';
import { run } from './run.js';
import { hangup$, shutdownSignal$ } from './signals.js';

/** `rxlb [options] [backend...]`: returns the exit code once the balancer has stopped. */
export async function start(backends: readonly string[], options: RootOptions): Promise<number> {
  const config = await loadConfig(backends, options).catch((err: unknown) => {
    reportError(err);
    return undefined;
  });
  if (!config) return 1;

  const log = createLogger({
    level: levelFor(options.verbose, options.quiet ?? false),
    format: options.logFormat ?? (process.stdout.isTTY ? 'text' : 'json'),
  });
  const grace = config.global.shutdownGraceMs;
  // Shared after the tap: several parts of the graph listen, the record is written once.
  const stop$ = shutdownSignal$().pipe(
    tap((signal) => log.info('shutting down', { signal, grace_ms: grace })),
    share(),
  );
  const hup = hangup$().subscribe(() => log.warn('SIGHUP ignored: config reload is not available in this version'));
  try {
    await run({ config$: of(config), stop$, log });
    log.info('stopped');
    return 0;
  } catch (err) {
    reportError(err);
    return 1;
  } finally {
    hup.unsubscribe();
    await log.close();
  }
}
