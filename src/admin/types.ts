/**
 * The admin API's contract: what the HTTP layer asks of the running balancer
 * (`AdminHandlers`) and what it answers with. The router and the server depend only on
 * these types, so they are tested with fakes and the balancer wires in the real thing.
 */

/** A backend's state as the admin API shows it; `draining` and `disabled` are set by an operator. */
export type BackendStateName = 'up' | 'down' | 'draining' | 'disabled';

/** The body of `GET /status`: every listener and every pool, as they run now. */
export interface StatusView {
  readonly listeners: readonly {
    readonly name: string;
    readonly protocol: 'tcp' | 'udp';
    readonly address: string;
    readonly pool: string;
    readonly active: number;
    /** Connections (or UDP sessions) turned away before reaching a backend, by reason, as `rxlb_connections_rejected_total` counts them. */
    readonly rejected: Readonly<Record<string, number>>;
  }[];
  readonly pools: readonly {
    readonly name: string;
    readonly policy: string;
    readonly backends: readonly {
      readonly address: string;
      readonly state: BackendStateName;
      readonly weight: number;
      readonly active: number;
      readonly total: number;
      readonly failures: number;
    }[];
  }[];
}

/** The last path segment of `POST /pools/{pool}/backends/{address}/{action}`. */
export type BackendAction = 'drain' | 'disable' | 'enable';

/** What an action did: the backend's state after it; or why nothing was done. */
export type ActionResult =
  | { readonly ok: true; readonly pool: string; readonly backend: string; readonly state: BackendStateName }
  | { readonly ok: false; readonly error: 'unknown_pool' | 'unknown_backend'; readonly message: string };

/** What a reload did: one line per change (`backend added: pool.web 127.0.0.1:8082`), or one per problem, naming file and key path. */
export type ReloadResult =
  | { readonly ok: true; readonly changes: readonly string[] }
  /** `shuttingDown`: nothing was tried, since rxlb is draining; the balancer logged nothing of it. */
  | { readonly ok: false; readonly errors: readonly string[]; readonly shuttingDown?: true };

/** The running balancer as the admin API sees it; each method may throw, which answers 500. */
export interface AdminHandlers {
  status(): StatusView;
  /** Prometheus text exposition and its content type (from prom-client's registry). */
  metrics(): Promise<{ readonly contentType: string; readonly body: string }>;
  backend(pool: string, backend: string, action: BackendAction): ActionResult;
  reload(): Promise<ReloadResult>;
}

/** One HTTP request as the router needs it: no socket, no body (the admin API reads none). */
export interface AdminRequest {
  readonly method: string;
  /** The request target as sent: origin form (`/status?x`) or absolute form. */
  readonly url: string;
  readonly authorization: string | undefined;
}

/** One HTTP response, complete; header names are lower case, and `content-length` is the server's to add. */
export interface AdminResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}
