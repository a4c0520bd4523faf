import { Observable, share } from 'rxjs';

/**
 * The first SIGTERM or SIGINT: stop accepting and drain. A second SIGINT means the
 * operator will not wait: exit at once (130, as a shell reports an interrupt).
 */
export function shutdownSignal$(onForce: () => void = () => process.exit(130)): Observable<NodeJS.Signals> {
  return new Observable<NodeJS.Signals>((subscriber) => {
    let draining = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (draining) {
        if (signal === 'SIGINT') onForce();
        return;
      }
      draining = true;
      subscriber.next(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    return () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
  }).pipe(share());
}

/** SIGHUP as a stream; listening to it also stops it from killing the process. */
export function hangup$(): Observable<void> {
  return new Observable<void>((subscriber) => {
    const onHup = (): void => subscriber.next();
    process.on('SIGHUP', onHup);
    return () => process.off('SIGHUP', onHup);
  });
}
