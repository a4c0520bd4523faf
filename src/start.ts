import { of, share, tap } from 'rxjs';
import type { RootOptions } from './cli.js';
import { reportError } from './commands/report.js';
import { loadConfigWithPolicies } from './commands/load-config.js';
import { createLogger } from './log/logger.js';
import { levelFor } from './log/levels.js';
import { run } from './run.js';
import { formatEndpoint } from './config/endpoint.js';
import { hangup$, shutdownSignal$ } from './signals.js';

/** `rxlb [options] [backend...]`: returns the exit code once the balancer has stopped. */
export async function start(backends: readonly string[], options: RootOptions): Promise<number> {
  const loaded = await loadConfigWithPolicies(backends, options).catch((err: unknown) => {
    reportError(err);
    return undefined;
  });
  if (!loaded) return 1;
  const { config, policies } = loaded;

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
  const adminAt = options.admin ?? (config.admin ? formatEndpoint(config.admin.listen) : undefined);
  if (adminAt !== undefined) log.warn('admin API not started: it is not available in this version', { address: adminAt });
  try {
    await run({ config$: of(config), stop$, log, policies });
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
