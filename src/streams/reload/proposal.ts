import type { Config } from '../../config/types.js';

/** A reload that cannot be applied, as the reload path found it: the file is invalid. */
export interface ConfigRejected {
  readonly rejected: true;
  /** One line per problem, each naming where it is. */
  readonly errors: readonly string[];
}

/** What the config source offers: a config to apply, or a reload already found invalid. */
export type ConfigProposal = Config | ConfigRejected;
