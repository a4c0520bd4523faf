import { describeConfig } from '../config/describe.js';
import { loadConfigWithPolicies } from './load-config.js';
import { reportError } from './report.js';

/**
 * `rxlb check -c <file>`: 0 and a summary of how the file was understood, or 1 and every
 * error, policy modules that are missing or export the wrong thing included.
 */
export async function checkCommand(options: { config: string; listen?: string }): Promise<number> {
  try {
    const { config } = await loadConfigWithPolicies([], options);
    process.stdout.write(`${describeConfig(config)}\n`);
    return 0;
  } catch (err) {
    reportError(err);
    return 1;
  }
}
