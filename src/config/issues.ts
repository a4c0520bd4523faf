import type { ConfigIssue } from '../errors.js';
import { formatKeyPath, type KeyPath } from './key-path.js';
import type { Locator } from './locate.js';

interface Found {
  readonly path: KeyPath;
  readonly message: string;
}

/** Collects every problem found while validating, so that all are reported at once. */
export class Issues {
  private readonly found: Found[] = [];
  /** `path\nmessage` of each issue found, so that adding one costs the same however many there are. */
  private readonly seen = new Set<string>();

  add(path: KeyPath, message: string): void {
    // a key path is written on one line, so the first newline ends it
    const key = `${formatKeyPath(path)}\n${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.found.push({ path, message });
  }

  get size(): number {
    return this.found.length;
  }

  /**
   * The issues for a ConfigError, each located in the source when a locator is given,
   * sorted by line and column; those with no line (the file as a whole) come first.
   */
  toConfigIssues(file: string, locate?: Locator): ConfigIssue[] {
    const issues = this.found.map((f): ConfigIssue => {
      const at = locate?.(f.path);
      return { file, path: formatKeyPath(f.path), ...at, message: f.message };
    });
    return issues
      .map((issue, order) => ({ issue, order }))
      .sort((a, b) => rank(a.issue) - rank(b.issue) || a.order - b.order)
      .map(({ issue }) => issue);
  }
}

const rank = (issue: ConfigIssue): number =>
  issue.line === undefined ? -1 : issue.line * 1_000_000 + (issue.column ?? 0);
