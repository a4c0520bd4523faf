#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { start } from './commands/start.js';
import { checkCommand } from './commands/check.js';
import { demoCommand } from './commands/demo.js';
import { parseEndpoint } from './config/endpoint.js';
import type { RootOptions } from './commands/options.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

function endpointArg(value: string): string {
  try {
    parseEndpoint(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
  return value;
}

const increase = (_: string, previous: number): number => previous + 1;

function program(): Command {
  const root = new Command('rxlb')
    .description('A layer-4 (TCP and UDP) load balancer built on RxJS.')
    .exitOverride()
    // Usage errors start `rxlb:` as every other error does (commander writes `error:`).
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'rxlb: ')) })
    // `check -c` and the root's `-c` are different options: each command parses its own.
    .enablePositionalOptions()
    .version(version, '--version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .argument('[backend...]', 'quick mode: backends as host:port (a hostname means all its addresses), in one pool named "default"')
    .option('-c, --config <file>', 'TOML config (seed-style files accepted too)')
    .option('-l, --listen <host:port>', 'quick mode listen address (default 127.0.0.1:0: a port is picked, then printed); with -c, the targets layout\'s only', endpointArg)
    .option('-p, --policy <name>', 'quick mode policy (default round-robin); not with -c')
    .option('--udp', 'quick mode over UDP instead of TCP; not with -c')
    .option('--admin <host:port>', 'admin API address (overrides [admin].listen)', endpointArg)
    .option('-v, --verbose', 'more detail (repeatable)', increase, 0)
    .option('-q, --quiet', 'warnings and errors only, and where rxlb listens')
    .addOption(new Option('--log-format <format>', 'log format (default: text on a terminal, json otherwise)').choices(['text', 'json']))
    .action(async (backends: string[], options: RootOptions) => {
      process.exitCode = await start(backends, options);
    });

  root
    .command('check')
    .description('validate a config only: exit 0 with a summary, or 1 with every error')
    .requiredOption('-c, --config <file>', 'TOML config to check')
    .option('-l, --listen <host:port>', 'listen address for the targets layout', endpointArg)
    .action(async (options: { config: string; listen?: string }) => {
      process.exitCode = await checkCommand(options);
    });

  root
    .command('demo')
    .description('two demo HTTP backends and a listener in front, all on loopback')
    .action(async () => {
      process.exitCode = await demoCommand();
    });
  return root;
}

try {
  await program().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode; // commander has already printed its message
  } else {
    process.stderr.write(`rxlb: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
