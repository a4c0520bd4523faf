import { problemLines } from '../errors.js';

/** One line per problem on stderr, each prefixed `rxlb:`. */
export function reportError(err: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): void {
  for (const line of problemLines(err)) write(`rxlb: ${line}\n`);
}
