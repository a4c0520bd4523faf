import { describe, expect, it } from 'vitest';
import { formatRate, tryParseRate } from '../../../src/config/rate.js';

describe('tryParseRate', () => {
  it('reads per second and per minute, and 0 as no limit', () => {
    expect(tryParseRate('20/s')).toEqual({ ok: true, value: { count: 20, perMs: 1_000 } });
    expect(tryParseRate('600/m')).toEqual({ ok: true, value: { count: 600, perMs: 60_000 } });
    expect(tryParseRate('1000000/s')).toEqual({ ok: true, value: { count: 1_000_000, perMs: 1_000 } });
    expect(tryParseRate('0')).toEqual({ ok: true, value: undefined });
    expect(tryParseRate(0)).toEqual({ ok: true, value: undefined });
  });

  it('says what is wrong with anything else', () => {
    const expected = 'expected a rate such as "20/s" or "600/m", or "0" for no limit';
    expect(tryParseRate('20')).toEqual({ ok: false, message: `${expected}, got "20"` });
    expect(tryParseRate(' 20/s')).toEqual({ ok: false, message: `${expected}, got " 20/s"` });
    expect(tryParseRate('20/S')).toEqual({ ok: false, message: `${expected}, got "20/S"` });
    expect(tryParseRate('1.5/s')).toEqual({ ok: false, message: `${expected}, got "1.5/s"` });
    expect(tryParseRate(1.5)).toEqual({ ok: false, message: `${expected}, got a float (1.5)` });
    expect(tryParseRate(-3)).toEqual({ ok: false, message: `${expected}, got an integer (-3)` });
    expect(tryParseRate(true)).toEqual({ ok: false, message: `${expected}, got a boolean (true)` });
    expect(tryParseRate('0/m')).toEqual({ ok: false, message: '"0/m" would refuse every connection; write "0" for no limit' });
  });
});

describe('formatRate', () => {
  it('writes what tryParseRate reads back the same', () => {
    for (const text of ['20/s', '600/m', '1/s', '0']) {
      const read = tryParseRate(text);
      expect(read.ok && formatRate(read.value)).toBe(text);
    }
  });
});
