import { ConfigError, formatIssue } from '../errors.js';

/** One line per problem on stderr, each prefixed `rxlb:`; a ConfigError gives one per issue. */
export function reportError(err: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): void {
  const lines =
    err instanceof ConfigError ? err.issues.map(formatIssue) : [err instanceof Error ? err.message : String(err)];
  for (const line of lines) write(`rxlb: ${line}\n`);
}
