export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 } as const;
export type LevelName = keyof typeof LEVELS;

/** `-q` shows warnings and errors; none shows info; each `-v` one level more. */
export function levelFor(verbose: number, quiet: boolean): LevelName {
  if (quiet) return 'warn';
  if (verbose >= 2) return 'trace';
  if (verbose === 1) return 'debug';
  return 'info';
}
