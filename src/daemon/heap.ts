import v8 from 'node:v8';

/**
 * Turns V8's incremental marking off for the daemon, unless its command line asks for
 * it (`node --incremental-marking`).
 *
 * Why: every chunk a socket reads arrives in a 64 KiB buffer allocated outside the
 * JavaScript heap, and V8 weighs those buffers against its old-generation limits until
 * a scavenge frees them (up to 32 MiB of them between two scavenges). For a heap the
 * size of rxlb's after start (about 9 MiB), the limits V8 derives leave less room than
 * that, so during a bulk transfer it starts a marking cycle every 100 ms or so and ends
 * each with a full mark-compact: 30 to 40 per GiB moved, with their concurrent marking
 * on the same core as the traffic. `npm run bench` measured that at 3 to 4 times the
 * raw Node proxy's CPU per GiB. (A smaller heap, under V8's 8 MiB threshold for
 * marking, never meets it: the raw proxy's is 4 MiB.) Without incremental marking V8
 * collects the old generation only when it has really grown to its limit: none per
 * GiB moved.
 *
 * The cost: when a full collection does come, it is one pause instead of many small
 * steps (a few milliseconds for a heap of tens of MiB). A flag changed after start
 * applies from the next marking decision on; this is called before traffic flows.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((arg) => /^--(no[-_])?incremental[-_]marking$/.test(arg))) return;
  v8.setFlagsFromString('--no-incremental-marking');
}
