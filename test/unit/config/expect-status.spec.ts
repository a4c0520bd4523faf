import { describe, expect, it } from 'vitest';
import { parseExpectStatus } from '../../../src/config/expect-status.js';

describe('parseExpectStatus', () => {
  it.each([
    ['2xx', [[200, 299]]],
    ['1xx', [[100, 199]]],
    ['5xx', [[500, 599]]],
    ['200', [[200, 200]]],
    [200, [[200, 200]]],
    ['200-399', [[200, 399]]],
    ['200, 204', [[200, 200], [204, 204]]],
    ['2xx,301', [[200, 299], [301, 301]]],
  ])('reads %j', (input, ranges) => {
    expect(parseExpectStatus(input)).toEqual({ ok: true, value: ranges });
  });

  it.each([['6xx'], ['0xx'], ['99'], ['600'], ['399-200'], ['200-'], ['ok'], [''], ['2xx,'], [2000]])('refuses %j', (input) => {
    expect(parseExpectStatus(input)).toEqual({
      ok: false,
      message: `expected a status such as "2xx", "200" or "200-399" (100 to 599), got ${JSON.stringify(input)}`,
    });
  });
});
