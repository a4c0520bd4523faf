import { share, tap } from 'rxjs';
import type { RootOptions } from './options.js';
import { reportError } from './report.js';
import { StateError } from '../errors.js';
import { loadConfigWithPolicies } from './load-config.js';
import { parseEndpoint } from '../config/endpoint.js';
import { createLogger } from '../log/logger.js';
import { levelFor } from '../log/levels.js';
import type { PolicyFactory } from '../operators/policies/types.js';
import { createReloader } from '../daemon/reload.js';
import { run } from '../daemon/run.js';
import { hangup$, shutdownSignal$ } from '../daemon/signals.js';

/** The exit status after an internal error (sysexits' EX_SOFTWARE). */
const EXIT_SOFTWARE = 70;

/** `rxlb [options] [backend...]`: returns the exit code once the balancer has stopped. */
export async function start(backends: readonly string[], options: RootOptions): Promise<number> {
  const loaded = await loadConfigWithPolicies(backends, options).catch((err: unknown) => {
    reportError(err);
    return undefined;
  });
  if (!loaded) return 1;
  const { config } = loaded;
  // Policy modules a reload names join those loaded at the start (a module is loaded once).
  const policies: Record<string, PolicyFactory> = { ...loaded.policies };

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
  // A reload reads the file again (or, in quick mode, resolves the backends' names again).
  const reloader = createReloader(config, async () => {
    const next = await loadConfigWithPolicies(backends, options);
    Object.assign(policies, next.policies);
    return next.config;
  });
  // Once draining, a reload is answered at once that nothing was reloaded.
  const stopReloads = stop$.subscribe(() => reloader.stop());
  const hup = hangup$().subscribe(() => {
    log.info('reloading config', { signal: 'SIGHUP', file: options.config ?? null });
    void reloader.request().then((result) => {
      // The balancer logs the outcome of every reload it tries, but not of one refused while draining.
      if (!result.ok && result.shuttingDown) log.warn('config reload failed', { signal: 'SIGHUP', errors: result.errors });
    });
  });
  const adminListen = options.admin !== undefined ? parseEndpoint(options.admin) : config.admin?.listen;
  try {
    await run({
      config$: reloader.config$,
      stop$,
      log,
      policies,
      admin: adminListen && { listen: adminListen, token: config.admin?.token, reload: () => reloader.request() },
      onEvent: (event) => reloader.observe(event),
    });
    log.info('stopped');
    return 0;
  } catch (err) {
    if (err instanceof StateError) {
      // A bug: logged with its stack, and an exit status a supervisor restarts on.
      log.error('backend state failed: stopping', { error: err.cause instanceof Error ? (err.cause.stack ?? err.message) : err.message });
      reportError(err);
      return EXIT_SOFTWARE;
    }
    reportError(err);
    return 1;
  } finally {
    hup.unsubscribe();
    stopReloads.unsubscribe();
    await log.close();
  }
}
