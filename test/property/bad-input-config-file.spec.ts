import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import './seed.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import { expectConfigOrLocatedError, expectLocatedConfigError } from './bad-input-check.js';
import { SAMPLE_NAMES, SAMPLES } from './bad-input-samples.js';
import { anyText } from './bad-input-toml.js';

/**
 * `loadConfigFile` on files of any bytes (valid files with bytes flipped, cut short, a
 * byte order mark, other encodings, binary junk) and on paths that are not readable
 * files (missing, a folder, through a file, with a NUL byte): a Config, or a
 * ConfigError whose every issue names the path given and, when it is about the text,
 * its key path or line:column.
 */

let dir = '';
let count = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rxlb-bad-input-'));
  await mkdir(join(dir, 'a-folder'));
  await writeFile(join(dir, 'a-file'), 'x');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(file: string): Promise<Config | ConfigError> {
  try {
    return await loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
  fc.constantFrom(...SAMPLE_NAMES).chain((name) => {
    const valid = Buffer.from(SAMPLES[name], 'utf8');
    return fc.oneof(
      fc.constant(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), valid])),
      fc.constant(Buffer.from(SAMPLES[name], 'utf16le')),
      fc.constant(Buffer.from(SAMPLES[name].replaceAll('\n', '\r\n'), 'utf8')),
      fc.nat(valid.length).map((n) => valid.subarray(0, n)),
      fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => {
        const copy = Buffer.from(valid);
        copy[at] = (copy[at] ?? 0) ^ mask;
        return copy;
      }),
    );
  }),
);

describe('loadConfigFile on any file', () => {
  it('any bytes: a Config or a ConfigError naming the file', async () => {
    await fc.assert(
      fc.asyncProperty(bytes, async (content) => {
        const file = join(dir, `config-${(count += 1)}.toml`);
        await writeFile(file, content);
        const outcome = await load(file);
        // the text as read (UTF-8, with U+FFFD for what is not), so lines and columns can be checked
        expectConfigOrLocatedError(outcome, file, content.toString('utf8'));
      }),
      { numRuns: 60 },
    );
  });

  it('a path that is not a readable file: one issue naming it and why', async () => {
    const path = fc.oneof(
      fc.constantFrom('a-folder', 'a-file/below', 'missing.toml', 'a-folder/missing/x.toml', '.', '..', 'nul\0byte.toml'),
      anyText(20).filter((name) => name !== '' && !name.includes('/') && !name.startsWith('config-')),
    );
    await fc.assert(
      fc.asyncProperty(path, async (name) => {
        const file = join(dir, name);
        const outcome = await load(file);
        if (!(outcome instanceof ConfigError)) return expect.fail(`read ${JSON.stringify(file)} as a config`);
        expectLocatedConfigError(outcome, file);
        expect(outcome.issues).toHaveLength(1);
        expect(outcome.issues[0]?.message).toMatch(/^cannot read the config file: \S/);
      }),
      { numRuns: 40 },
    );
  });
});
