import { ConfigError, formatIssue } from '../errors.js';

/** One line per problem: a ConfigError gives one per issue (file, key path, line), anything else its message. */
export function problemLines(err: unknown): string[] {
  return err instanceof ConfigError ? err.issues.map(formatIssue) : [err instanceof Error ? err.message : String(err)];
}

/** One line per problem on stderr, each prefixed `rxlb:`. */
export function reportError(err: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): void {
  for (const line of problemLines(err)) write(`rxlb: ${line}\n`);
}
