import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import './seed.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.js';
import { importPolicy, PolicyModuleError } from '../../src/config/policy-modules.js';

/**
 * Custom policy modules (`policy = "./my-policy.js"`) are files from outside too: any
 * text, any default export, a module that throws as it loads or when applied. Loading
 * one gives the policy function or a PolicyModuleError that names the key and the
 * module and says why on one line; nothing else.
 */

let dir = '';
let count = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rxlb-bad-policy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `source` to a new module file (a new URL, so Node's module cache never answers). */
async function moduleFile(source: string): Promise<string> {
  const file = join(dir, `policy-${(count += 1)}.mjs`);
  await writeFile(file, source);
  return file;
}

const exported = fc.constantFrom(
  '1',
  '"round-robin"',
  'null',
  'undefined',
  '{}',
  '[]',
  '10n',
  'Symbol("p")',
  'Object.create(null)',
  'class {}',
  '() => 1',
  '(requests$) => requests$',
  '() => () => 1',
  '() => { throw new Error("applied\\nand failed"); }',
  '() => { throw null; }',
  '() => { throw "a string"; }',
  'async () => 1',
  'new Proxy(() => 1, {})',
);
const source = fc.oneof(
  exported.map((e) => `export default ${e};\n`),
  fc.constantFrom(
    'export const policy = 1;\n',
    '',
    'throw new Error("loading failed\\non two lines");\n',
    'throw 5;\n',
    "import 'rxlb-no-such-package';\nexport default () => 1;\n",
    "import './no-such-file.js';\n",
    'export default (\n',
  ),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }),
);

describe('policy modules with any content', () => {
  it('load as a policy, or fail with a PolicyModuleError naming the key and the module, on one line', async () => {
    await fc.assert(
      fc.asyncProperty(source, async (text) => {
        const file = await moduleFile(text);
        let policy: unknown;
        try {
          policy = await importPolicy(file, 'pool.web.policy');
        } catch (err) {
          expect(err).toBeInstanceOf(PolicyModuleError);
          const failure = err as PolicyModuleError;
          expect(failure).toBeInstanceOf(PolicyError);
          expect(failure.code).toBe('RXLB_ERR_POLICY');
          expect(failure.keyPath).toBe('pool.web.policy');
          expect(failure.modulePath).toBe(file);
          expect(failure.detail).toContain(file);
          expect(failure.detail, 'one line').not.toMatch(/[\r\n]/);
          return;
        }
        expect(typeof policy).toBe('function');
      }),
      { numRuns: 50 },
    );
  });

  // Found by this suite: String() of an object with no prototype throws a TypeError.
  it('a module that throws an object with no prototype is a PolicyModuleError', async () => {
    for (const text of ['throw Object.create(null);\n', 'export default () => { throw Object.create(null); };\n']) {
      await expect(importPolicy(await moduleFile(text))).rejects.toBeInstanceOf(PolicyModuleError);
    }
  });
});
