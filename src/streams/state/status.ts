/** A backend's status, what routing reads: only `up` backends are picked. */
export type BackendStatus = 'up' | 'down' | 'draining' | 'disabled';

/** What an operator set through the admin API: `none` leaves the status to the checks. */
export type AdminMode = 'none' | 'draining' | 'disabled';
