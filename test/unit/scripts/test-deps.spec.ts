import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../scripts/test-deps.sh', import.meta.url));
const SKIPPED = 'the interop tests that need them will be skipped (and fail under CI=true)';
const emptyDir = mkdtempSync(join(tmpdir(), 'rxlb-test-deps-'));
afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

/** Runs the script with `args`; `path` replaces PATH. */
function testDeps(args: readonly string[], path = process.env.PATH ?? ''): { status: number | null; lines: string[] } {
  const run = spawnSync('/bin/bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, PATH: path } });
  expect(run.stderr).toBe('');
  return { status: run.status, lines: run.stdout.split('\n').filter((l) => l !== '') };
}

describe('scripts/test-deps.sh (npm test runs it first)', () => {
  it('says every program is installed and does nothing else', () => {
    expect(testDeps(['--dry-run', 'sh:dash', 'bash:bash'])).toEqual({ status: 0, lines: ['test-deps: sh bash installed'] });
  });

  it('names the missing programs and their packages once each, then installs them as root or says why not', () => {
    const { status, lines } = testDeps(['--dry-run', 'sh:dash', 'rxlb-no-such-program:rxlb-no-such-package', 'rxlb-no-such-tool:rxlb-no-such-package']);
    expect(status).toBe(0);
    expect(lines[0]).toBe('test-deps: missing rxlb-no-such-program rxlb-no-such-tool (Debian packages: rxlb-no-such-package)');
    const aptGet = spawnSync('/bin/sh', ['-c', 'command -v apt-get']).status === 0;
    const policy = '/usr/sbin/policy-rc.d';
    const ownPolicy = !existsSync(policy);
    if (!aptGet) {
      expect(lines.slice(1)).toEqual([`test-deps: no apt-get on this machine: install them yourself; until then ${SKIPPED}`]);
    } else if (process.getuid?.() !== 0) {
      expect(lines.slice(1)).toEqual([`test-deps: not root: run 'sudo apt-get install rxlb-no-such-package' or npm test as root; until then ${SKIPPED}`]);
    } else {
      expect(lines.slice(1)).toEqual([
        ...(ownPolicy ? [`test-deps: would run: sh -c printf '#!/bin/sh\\nexit 101\\n' >${policy} && chmod 755 ${policy}`] : []),
        'test-deps: would run: env DEBIAN_FRONTEND=noninteractive apt-get update -qq',
        'test-deps: would run: env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rxlb-no-such-package',
        'test-deps: dry run, nothing installed',
        ...(ownPolicy ? [`test-deps: would run: rm -f ${policy}`] : []),
      ]);
    }
  });

  it('takes an entry that is a path as a file to have, program or not (nginx\'s stream module)', () => {
    expect(testDeps(['--dry-run', `${SCRIPT}:bash`])).toEqual({ status: 0, lines: [`test-deps: ${SCRIPT} installed`] });
    const { lines } = testDeps(['--dry-run', '/rxlb/no/such/module.so:rxlb-no-such-package'], emptyDir);
    expect(lines[0]).toBe('test-deps: missing /rxlb/no/such/module.so (Debian packages: rxlb-no-such-package)');
  });

  it('without apt-get, says so and goes on (exit 0)', () => {
    expect(testDeps(['--dry-run', 'rxlb-no-such-program:rxlb-no-such-package'], emptyDir)).toEqual({
      status: 0,
      lines: ['test-deps: missing rxlb-no-such-program (Debian packages: rxlb-no-such-package)', `test-deps: no apt-get on this machine: install them yourself; until then ${SKIPPED}`],
    });
  });

  it('covers every program an interop spec requires, with the package it names', () => {
    const script = readFileSync(SCRIPT, 'utf8');
    const list = /^needs=\(([^)]*)\)/m.exec(script)?.[1] ?? '';
    const needs = new Map(list.trim().split(/\s+/).map((n) => n.split(':') as [string, string]));
    const interop = fileURLToPath(new URL('../../interop/', import.meta.url));
    const required = readdirSync(interop)
      .filter((f) => f.endsWith('.spec.ts'))
      .flatMap((f) => [...readFileSync(join(interop, f), 'utf8').matchAll(/requireBinaries\('[^']*', \[([^\]]*)\], '([^']*)'\)/g)])
      .map((m) => ({ programs: [...(m[1] ?? '').matchAll(/'([^']+)'/g)].map((p) => p[1] ?? ''), packages: (m[2] ?? '').split(' ') }));
    expect(required.length).toBeGreaterThanOrEqual(4); // bench, iperf3, nginx, redis
    for (const { programs, packages } of required) {
      for (const program of programs) {
        expect(needs.has(program), `${program} in scripts/test-deps.sh`).toBe(true);
        expect(packages, `the package of ${program}`).toContain(needs.get(program));
      }
    }
  });
});
