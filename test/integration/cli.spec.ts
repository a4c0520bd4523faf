import { describe, expect, it } from 'vitest';
import { runRxlb, testServers, writeTemp } from './harness.js';

testServers();

describe('command line messages', () => {
  it('starts usage errors with rxlb:, as every other error, and exits 1', async () => {
    expect(await runRxlb(['-x'])).toEqual({ code: 1, stdout: '', stderr: "rxlb: unknown option '-x'\n" });
    expect(await runRxlb(['check'])).toEqual({ code: 1, stdout: '', stderr: "rxlb: required option '-c, --config <file>' not specified\n" });
  });

  it('says the host is missing from --admin 9901', async () => {
    expect(await runRxlb(['--admin', '9901', '127.0.0.1:9'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `rxlb: option '--admin <host:port>' argument '9901' is invalid. missing host in "9901": expected host:port such as "127.0.0.1:9901"\n`,
    });
  });

  it('says a string is not closed, at the line and column of its opening quote', async () => {
    const path = writeTemp('[[listener]]\nbind = "127.0.0.1:0\npool = "web"\n');
    expect(await runRxlb(['check', '-c', path])).toEqual({
      code: 1,
      stdout: '',
      stderr: `rxlb: ${path}:2:8: TOML syntax error: string not closed on line 2: add its closing "\n`,
    });
  });
});
