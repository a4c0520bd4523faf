// Constants shared by the benchmark backends and the load generator.

/** Size of one keep-alive / one-shot request, in bytes. */
export const REQ_SIZE = 64;
/** Size of one response, in bytes. */
export const RESP_SIZE = 64;
