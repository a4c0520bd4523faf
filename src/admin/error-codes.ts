/**
 * The `error.code` values an admin API response can carry. They are codes on the wire,
 * not thrown `RxlbError`s, so they live here rather than in `ERROR_CODES`; the README's
 * error table lists both, and a test keeps this list and that table in step.
 */
export const ADMIN_ERROR_CODES = [
  'RXLB_ADMIN_BAD_REQUEST',
  'RXLB_ADMIN_UNAUTHORIZED',
  'RXLB_ADMIN_NOT_FOUND',
  'RXLB_ADMIN_METHOD',
  'RXLB_ADMIN_UNKNOWN_POOL',
  'RXLB_ADMIN_UNKNOWN_BACKEND',
  'RXLB_RELOAD_FAILED',
  'RXLB_ADMIN_INTERNAL',
] as const;

/** One of `ADMIN_ERROR_CODES`, so the router cannot answer with a code the docs do not list. */
export type AdminErrorCode = (typeof ADMIN_ERROR_CODES)[number];
