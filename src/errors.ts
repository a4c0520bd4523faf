/**
 * Every failure rxlb reports is one of these classes, each with a stable `code`
 * that scripts can match on. The README lists every code (a test keeps them in step).
 */
export class RxlbError extends Error {
  readonly code: string = 'RXLB_ERR';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem found in a config file, located as precisely as the source allows. */
export interface ConfigIssue {
  /** The file, or `<command line>` for quick mode. */
  readonly file: string;
  /** Key path such as `pool.web.backend[1].address`; empty for the file as a whole. */
  readonly path: string;
  /** 1-based line and column, when known. */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** Renders one issue as `file:line:column: path: message`, leaving out what is unknown. */
export function formatIssue(issue: ConfigIssue): string {
  let where = issue.file;
  if (issue.line !== undefined) where += `:${issue.line}`;
  if (issue.line !== undefined && issue.column !== undefined) where += `:${issue.column}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** The config could not be used; `issues` holds every problem found, not just the first. */
export class ConfigError extends RxlbError {
  override readonly code = 'RXLB_ERR_CONFIG';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], options?: ErrorOptions) {
    super(issues.map(formatIssue).join('\n'), options);
    this.issues = issues;
  }
}

/** A listener could not bind its address (in use, not permitted, not local). */
export class ListenError extends RxlbError {
  override readonly code = 'RXLB_ERR_LISTEN';
}

/** Why a connect attempt to a backend failed, as counted in metrics and logs. */
export type ConnectFailureReason = 'refused' | 'timeout' | 'error';

/** A connect attempt to a backend failed before the connection was established. */
export class UpstreamConnectError extends RxlbError {
  override readonly code = 'RXLB_ERR_UPSTREAM_CONNECT';
  readonly local: string | undefined;
  constructor(
    readonly backend: string,
    readonly reason: ConnectFailureReason,
    options?: ErrorOptions & {
      /**
       * rxlb's own failure, not the backend's: out of descriptors, buffers or local
       * ports (the errno code). Another backend would fail the same way, and the
       * backend is not to blame.
       */
      readonly local?: string;
    },
  ) {
    super(`connect to ${backend} failed: ${options?.local ? `${reason} (${options.local} in rxlb)` : reason}`, options);
    this.local = options?.local;
  }
}

/** No backend of the pool could take the connection: none up, or all tried. */
export class NoBackendError extends RxlbError {
  override readonly code = 'RXLB_ERR_NO_BACKEND';
  constructor(readonly pool: string) {
    super(`pool ${pool} has no available backend`);
  }
}

/** Every eligible backend, the listener or the process is at its `max_connections`. */
export class LimitError extends RxlbError {
  override readonly code = 'RXLB_ERR_LIMIT';
}

/** A hostname in the config or on the command line did not resolve. */
export class ResolveError extends RxlbError {
  override readonly code = 'RXLB_ERR_RESOLVE';
}

/** A policy name or module that rxlb cannot use. */
export class PolicyError extends RxlbError {
  override readonly code: string = 'RXLB_ERR_POLICY';
}

/**
 * How a running policy let a connection down: it threw or errored, picked a backend
 * that was not a candidate, completed, did not answer in time, or answered a request
 * it was not asked.
 */
export type PolicyFailureKind = 'error' | 'not_candidate' | 'stopped' | 'no_answer' | 'unknown_request';

/** A running policy let a connection down; `kind` says how. The connection fails, the pool goes on. */
export class PolicyFailedError extends PolicyError {
  override readonly code = 'RXLB_ERR_POLICY_FAILED';
  constructor(
    message: string,
    readonly kind: PolicyFailureKind,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The backend state could not be updated: a bug. rxlb stops rather than route on a state it cannot trust. */
export class StateError extends RxlbError {
  override readonly code = 'RXLB_ERR_STATE';
}

/** Every error code rxlb can report, for the docs test and for users. */
export const ERROR_CODES = [
  'RXLB_ERR',
  'RXLB_ERR_CONFIG',
  'RXLB_ERR_LISTEN',
  'RXLB_ERR_UPSTREAM_CONNECT',
  'RXLB_ERR_NO_BACKEND',
  'RXLB_ERR_LIMIT',
  'RXLB_ERR_RESOLVE',
  'RXLB_ERR_POLICY',
  'RXLB_ERR_POLICY_FAILED',
  'RXLB_ERR_STATE',
] as const;

/** One line per problem: a ConfigError gives one per issue (file, key path, line), anything else its message. */
export function problemLines(err: unknown): string[] {
  return err instanceof ConfigError ? err.issues.map(formatIssue) : [err instanceof Error ? err.message : String(err)];
}
