import type { LogFormat } from '../log/format.js';

/** What the root command's options parse to. */
export interface RootOptions {
  readonly config?: string;
  readonly listen?: string;
  readonly policy?: string;
  readonly udp?: boolean;
  readonly admin?: string;
  readonly verbose: number;
  readonly quiet?: boolean;
  readonly logFormat?: LogFormat;
}
