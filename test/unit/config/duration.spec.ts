import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, tryParseDuration } from '../../../src/config/duration.js';
import { RxlbError } from '../../../src/errors.js';

describe('tryParseDuration', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5_000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['0s', 0],
    ['1m30s', 90_000],
    ['1h5m', 3_900_000],
    ['2s500ms', 2_500],
    ['250', 250],
    ['0', 0],
    [250, 250],
    [0, 0],
  ])('reads %j as %d ms', (input, ms) => {
    expect(tryParseDuration(input)).toEqual({ ok: true, value: ms });
  });

  it.each([['5 seconds'], ['5'.concat('sec')], [''], ['-5s'], ['1.5s'], ['s'], ['5S'], [' 5s'], ['30s1m'], ['1s1s'], ['5d']])(
    'refuses %j',
    (input) => {
      expect(tryParseDuration(input)).toEqual({
        ok: false,
        message: `expected a duration such as "250ms", "5s", "1m", "1h" or an integer of milliseconds, got ${JSON.stringify(input)}`,
      });
    },
  );

  it.each([[-1], [1.5]])('refuses the number %d', (input) => {
    expect(tryParseDuration(input)).toEqual({
      ok: false,
      message: `expected a duration such as "250ms", "5s", "1m", "1h" or an integer of milliseconds, got ${input}`,
    });
  });

  it('refuses what a Node.js timer cannot wait for', () => {
    expect(tryParseDuration('596h31m23s647ms')).toEqual({ ok: true, value: 2_147_483_647 });
    expect(tryParseDuration('1000h')).toEqual({
      ok: false,
      message: 'duration "1000h" is too long: at most 2147483647ms (about 24.8 days)',
    });
  });
});

describe('parseDuration', () => {
  it('gives milliseconds or throws an RxlbError with the message', () => {
    expect(parseDuration('5s')).toBe(5_000);
    expect(() => parseDuration('5 seconds')).toThrow(RxlbError);
    expect(() => parseDuration('5 seconds')).toThrow('got "5 seconds"');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [250, '250ms'],
    [5_000, '5s'],
    [90_000, '1m30s'],
    [600_000, '10m'],
    [3_600_000, '1h'],
    [3_661_001, '1h1m1s1ms'],
  ])('writes %d as %s, which reads back the same', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
