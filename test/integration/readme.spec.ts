import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import type { StateCause } from '../../src/streams/state/events.js';
import { CLI, type LogRecord, type TestServer, connect, echo, killAll, listeningPort, readLine, refusedPort, startRxlb, startServer } from './harness.js';

/**
 * The README's examples, run. Its fenced blocks follow two conventions, so that a new
 * example is picked up without touching this file:
 *
 * - a block whose info string names a file (```` ```toml file=rxlb.toml ````) is that
 *   file: each example runs in a fresh folder holding every such file of the README;
 * - a `console` block is a session: a line starting `$ ` is a command, the lines under
 *   it what it prints (stdout, then stderr). `rxlb ...` runs the built CLI in that
 *   folder. `rxlb check`, `--help`, `--version` and a command shown failing run until
 *   they exit; the balancer is stopped with SIGTERM once it has printed as many lines
 *   as shown; `rxlb ... &` runs in the background (shown with no output) until the
 *   block ends. `curl` is read as the README uses it (`-s`, `-X`, `-H`, one URL) and
 *   answered from the admin API. The exit status must be 1 when the output shown has
 *   an `rxlb:` error line, else 0. Any other command fails the test: show it in a `sh`
 *   block instead.
 *
 * Below the examples, what the README says in prose of records, causes and exit
 * statuses is checked against the program.
 *
 * What varies from run to run is normalised on both sides, explicitly: see VARYING.
 */

const README_PATH = fileURLToPath(new URL('../../README.md', import.meta.url));
const README = readFileSync(README_PATH, 'utf8');

interface Block {
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly file: string | undefined;
  readonly text: string;
}

function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && lines[i] !== '```'; i += 1) body.push(lines[i]!);
    const file = /(?:^|\s)file=(\S+)/.exec(open[2] ?? '')?.[1];
    blocks.push({ line: start + 1, lang: open[1] ?? '', file, text: body.map((l) => `${l}\n`).join('') });
  }
  return blocks;
}

const blocks = fencedBlocks(README);

/** Every file the README shows, by name; a name shown twice would make examples ambiguous. */
const files = new Map<string, string>();
for (const block of blocks.filter((b) => b.file !== undefined)) {
  if (files.has(block.file!)) throw new Error(`README.md:${block.line}: file=${block.file} is shown twice`);
  files.set(block.file!, block.text);
}

/**
 * Fixed ports the files listen on (`bind`, `listen`) would collide with whatever else runs
 * on the machine: each is replaced by a free one in the files and commands, and mapped
 * back in what is printed. The examples never connect to a backend, so backends' ports
 * stay (a test that serves one moves its port too: see newSession).
 */
async function freePorts(): Promise<Map<string, string>> {
  const fixed = new Set<string>();
  for (const text of files.values()) {
    for (const m of text.matchAll(/^\s*(?:bind|listen)\s*=\s*"[^"]*:(\d+)"/gm)) if (m[1] !== '0') fixed.add(m[1]!);
  }
  const ports = new Map<string, string>();
  for (const port of fixed) ports.set(port, String(await refusedPort()));
  return ports;
}

/** What varies from run to run, and what it is shown as on both sides. */
const VARYING: readonly { readonly what: string; readonly pattern: RegExp; readonly as: string }[] = [
  { what: 'the time of a log record', pattern: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, as: '<time>' },
  { what: 'the port picked for a listener asked for port 0', pattern: /(\blistening\b.*\baddress=\S+:)\d+/g, as: '$1<port>' },
];

interface Session {
  readonly dir: string;
  /** README port -> the free port used instead. */
  readonly ports: ReadonlyMap<string, string>;
  readonly background: ChildProcess[];
}

const swapPorts = (text: string, ports: ReadonlyMap<string, string>, back = false): string =>
  [...ports].reduce((t, [shown, used]) => (back ? t.replace(new RegExp(`:${used}\\b`, 'g'), `:${shown}`) : t.replace(new RegExp(`:${shown}\\b`, 'g'), `:${used}`)), text);

function normalise(text: string, session: Session): string {
  let out = swapPorts(text.replaceAll(session.dir, '/etc/rxlb'), session.ports, true);
  for (const v of VARYING) out = out.replace(v.pattern, v.as);
  return out;
}

/** The words of a command line: spaces separate, single or double quotes group. */
function words(line: string): string[] {
  const found: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) found.push(m[1] ?? m[2] ?? m[3]!);
  return found;
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs the CLI: until it exits, all it printed; or, when `daemon`, until it has printed
 * `lines` lines, then stops it with SIGTERM and gives those lines (what it prints
 * because it was stopped is not the example's).
 */
async function runCli(args: readonly string[], session: Session, lines: number, daemon: boolean): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: session.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const printed = (): string[] => (stdout + stderr).split('\n').slice(0, -1);
  const enough = new Promise<void>((resolve) => {
    const seen = (): void => void (daemon && printed().length >= lines && resolve());
    child.stdout.setEncoding('utf8').on('data', (t: string) => ((stdout += t), seen()));
    child.stderr.setEncoding('utf8').on('data', (t: string) => ((stderr += t), seen()));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await Promise.race([exited, enough]);
  const running = child.exitCode === null && child.signalCode === null;
  const shown = printed().slice(0, lines);
  if (running) child.kill('SIGTERM');
  const [code] = await exited;
  clearTimeout(timer);
  return running ? { code, output: shown.map((l) => `${l}\n`).join('') } : { code, output: stdout + stderr };
}

/** Starts the CLI in the background, resolving once it listens (and its admin API, when `admin`). */
async function startCli(args: readonly string[], session: Session, admin: boolean): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...args, '--log-format', 'json'], { cwd: session.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  session.background.push(child);
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: not listening within 10 s: ${seen}`)), 10_000);
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      seen += t;
      if (!seen.includes(admin ? '"msg":"admin listening"' : '"msg":"listening"')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${args.join(' ')} exited with ${code}: ${seen}`))));
  });
}

/** `curl -s [-X METHOD] [-H 'Name: value']... URL`, the body of the answer. */
async function curl(args: readonly string[]): Promise<Run> {
  let method = 'GET';
  const headers: Record<string, string> = {};
  let url: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '-s') continue;
    if (arg.startsWith('-X')) method = arg.length > 2 ? arg.slice(2) : args[(i += 1)]!;
    else if (arg === '-H') {
      const [name, ...value] = args[(i += 1)]!.split(':');
      headers[name!.trim()] = value.join(':').trim();
    } else if (arg.startsWith('-') || url !== undefined) throw new Error(`curl ${args.join(' ')}: the README test reads -s, -X, -H and one URL only`);
    else url = arg.includes('://') ? arg : `http://${arg}`;
  }
  if (url === undefined) throw new Error(`curl ${args.join(' ')}: no URL`);
  const response = await fetch(url, { method, headers, signal: AbortSignal.timeout(5_000) });
  return { code: 0, output: await response.text() };
}

/** One `$ ` command and the output shown under it. */
interface Step {
  readonly command: string;
  readonly shown: string;
}

function steps(block: Block): Step[] {
  const found: { command: string; shown: string[] }[] = [];
  for (const line of block.text.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) found.push({ command: line.slice(2), shown: [] });
    else if (found.length === 0) throw new Error(`README.md:${block.line}: a console block must start with a "$ " command`);
    else found[found.length - 1]!.shown.push(line);
  }
  return found.map((s) => ({ command: s.command, shown: s.shown.map((l) => `${l}\n`).join('') }));
}

async function runStep(step: Step, session: Session, later: readonly Step[]): Promise<Run | undefined> {
  const [program, ...args] = words(swapPorts(step.command, session.ports));
  if (program === 'curl') return curl(args);
  if (program !== 'rxlb') throw new Error(`"${step.command}": the README test runs rxlb and curl only; show other commands in a sh block`);
  if (args[args.length - 1] === '&') {
    if (step.shown !== '') throw new Error(`"${step.command}": a background command shows no output`);
    await startCli(args.slice(0, -1), session, later.some((s) => s.command.startsWith('curl ')));
    return undefined;
  }
  // `rxlb check`, help and errors exit by themselves; the balancer runs until stopped
  const exits = args[0] === 'check' || args.some((a) => ['-h', '--help', '--version'].includes(a)) || /^rxlb: /m.test(step.shown);
  return runCli(args, session, step.shown.split('\n').length - 1, !exits);
}

const sessions: Session[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await killAll();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const session of sessions.splice(0)) {
    await Promise.all(
      session.background.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
  }
});

/** A fresh folder with every file of the README; `ports` moves more README ports (backends a test serves). */
async function newSession(more: ReadonlyMap<string, string> = new Map()): Promise<Session> {
  // the real path: the one rxlb prints for a file it resolves against its working directory
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'rxlb-readme-')));
  const ports = new Map([...(await freePorts()), ...more]);
  for (const [name, text] of files) writeFileSync(join(dir, name), swapPorts(text, ports));
  const session = { dir, ports, background: [] };
  sessions.push(session);
  return session;
}

const consoles = blocks.filter((b) => b.lang === 'console');

describe('the README', () => {
  it('has examples to run', () => {
    expect(consoles.length).toBeGreaterThanOrEqual(5);
    expect([...files.keys()]).toContain('rxlb.toml');
  });

  it.each(consoles.map((block) => [`README.md:${block.line}: ${steps(block)[0]?.command ?? ''}`, block] as const))('%s', async (_, block) => {
    const session = await newSession();
    const all = steps(block);
    for (const [n, step] of all.entries()) {
      const run = await runStep(step, session, all.slice(n + 1));
      if (run === undefined) continue;
      expect(normalise(run.output, session), `$ ${step.command}`).toBe(normalise(step.shown, session));
      expect(run.code, `exit status of $ ${step.command}`).toBe(/^rxlb: /m.test(step.shown) ? 1 : 0);
    }
  });
});

/** The paragraph of the README that starts with `start`, on one line. */
function paragraph(start: string): string {
  const at = README.indexOf(start);
  if (at < 0) throw new Error(`README.md: no paragraph starting ${JSON.stringify(start)}`);
  return README.slice(at, README.indexOf('\n\n', at)).replace(/\s+/g, ' ');
}

describe('what the README says of rxlb', () => {
  it('shows the records of the reload walk-through as rxlb logs them, in its order', async () => {
    const walk = blocks.find((b) => b.lang === 'sh' && b.text.includes('kill -HUP'));
    const shown = blocks.find((b) => b.lang === 'json' && b.text.includes('"msg":"config reloaded"'));
    const edit = /\$EDITOR rxlb\.toml\s+# 127\.0\.0\.1:(\d+) becomes 127\.0\.0\.1:(\d+)/.exec(walk?.text ?? '');
    expect(edit, 'the walk-through says what the edit is').not.toBeNull();
    const [, removed, added] = edit!;
    const expected = shown!.text.trim().split('\n').map((line) => JSON.parse(line) as LogRecord);

    // The removed backend drains only while a connection to it is open: it serves one.
    // The backend before it in the file refuses, so the connection is retried onto it.
    const backend = await startServer(echo);
    servers.push(backend);
    const first = /^address = "127\.0\.0\.1:(\d+)"/m.exec(files.get('rxlb.toml') ?? '')?.[1];
    expect(first).not.toBe(removed);
    const session = await newSession(new Map([[first!, String(await refusedPort())], [removed!, String(backend.port)]]));
    const rxlb = startRxlb(['-c', 'rxlb.toml'], [], session.dir);
    const client = await connect(await listeningPort(rxlb, 'web'));
    client.write('held\n');
    expect(await readLine(client)).toBe('held');
    expect(backend.accepted()).toBe(1);

    const path = join(session.dir, 'rxlb.toml');
    writeFileSync(path, readFileSync(path, 'utf8').replace(`"127.0.0.1:${backend.port}"`, `"127.0.0.1:${added!}"`));
    const from = rxlb.records.length;
    rxlb.child.kill('SIGHUP');
    await rxlb.waitFor((r) => r.msg === 'config reloaded');
    const logged = rxlb.records
      .slice(from)
      .filter((r) => expected.some((e) => e.msg === r.msg))
      .map(({ time, ...rest }) => (expect(time).toEqual(expect.any(String)), JSON.parse(normalise(JSON.stringify(rest), session)) as unknown));
    expect(logged).toEqual(expected);
    client.destroy();
    expect(await rxlb.stop()).toBe(0);
  });

  it('names every cause of a backend state record', () => {
    const causes = ['health', 'passive', 'admin', 'reload'] as const satisfies readonly StateCause[];
    // a cause the program gains fails the typecheck here until it is listed
    const complete: Exclude<StateCause, (typeof causes)[number]> extends never ? true : false = true;
    expect(complete).toBe(true);
    const text = paragraph('Each status change logs one `backend state` record');
    const listed = /`cause` \((.*?)\) and `detail`/.exec(text)?.[1] ?? '';
    expect([...listed.matchAll(/`([a-z-]+)`/g)].map((m) => m[1])).toEqual(causes);
  });

  it('gives every exit status rxlb has', () => {
    const text = paragraph('Exit status:');
    // 0 a clean stop, 1 any failure (lifecycle and cli specs), 130 a second SIGINT (signals spec)
    expect([...text.matchAll(/\b(\d+) (?:after|for)\b/g)].map((m) => Number(m[1]))).toEqual([0, 1, 130]);
  });

  it('says in the config example what a weight must be, as validation does', () => {
    const comment = /^weight = 1\s+# (.*)$/m.exec(files.get('rxlb.toml') ?? '')?.[1] ?? '';
    const refusal = (weight: string): string => {
      try {
        parseConfigText(`[[listener]]\nbind = "127.0.0.1:0"\npool = "web"\n[[pool.web.backend]]\naddress = "127.0.0.1:80"\nweight = ${weight}\n`, 'rxlb.toml');
      } catch (err) {
        if (err instanceof ConfigError) return err.issues[0]?.message ?? '';
      }
      return 'accepted';
    };
    expect(refusal('0')).toBe('must be an integer >= 1, got 0');
    expect(refusal('0.5')).toBe('expected an integer, got a float (0.5)');
    expect(comment).toContain('an integer >= 1');
  });
});
