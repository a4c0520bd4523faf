import fs, { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/log/logger.js';

afterEach(() => vi.restoreAllMocks());

/** Waits until `check` holds, polling: a file on disk gives no signal when it grows. */
async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('createLogger on a file descriptor', () => {
  it('writes a line logged while a write is in flight once that write is done, without waiting for another line', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rxlb-log-')), 'out.log');
    const fd = openSync(path, 'w');
    // The first write takes 200 ms, as to a slow reader: the timer of the second line
    // fires while it is in flight.
    const write = fs.write.bind(fs) as (...args: unknown[]) => void;
    let calls = 0;
    vi.spyOn(fs, 'write').mockImplementation(((...args: unknown[]) => {
      calls += 1;
      if (calls > 1) return write(...args);
      const cb = args.pop() as (...r: unknown[]) => void;
      return write(...args, (...r: unknown[]) => setTimeout(() => cb(...r), 200));
    }) as typeof fs.write);
    const log = createLogger({ level: 'info', format: 'json', fd, now: () => new Date(0) });
    log.info('first');
    await until(() => calls === 1);
    log.info('second');
    await until(() => readFileSync(path, 'utf8').includes('second'));
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['first', 'second']);
    await log.close();
  });
});
