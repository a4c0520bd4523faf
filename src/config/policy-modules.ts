import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { NEVER, isObservable } from 'rxjs';
import { isPolicyModule } from './policy-names.js';
import { locatorOf } from './source-locations.js';
import type { Config } from './types.js';
import { type ConfigIssue, ConfigError, PolicyError } from '../errors.js';
import { builtinPolicies } from '../operators/policies/registry.js';
import type { Policy, PolicyFactory } from '../operators/policies/types.js';

/** A policy module that cannot be used: which key named it, which file, and why. */
export class PolicyModuleError extends PolicyError {
  constructor(
    /** Where the config names the module: `pool.web.policy`, or `--policy` in quick mode. */
    readonly keyPath: string,
    /** The module's absolute path. */
    readonly modulePath: string,
    /** What is wrong, without the key path: `cannot load policy module /x.js: no such file`. */
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${keyPath}: ${detail}`, options);
  }
}

/**
 * The policies a config can use: the built-in ones by name, plus one factory per
 * distinct policy module its pools name (`policy = "./my-policy.js"`), keyed by the
 * module's absolute path as `pool.policy` holds it. Pass the result to `createBalancer`
 * as `policies`.
 *
 * 1. collect the module paths of every pool, each loaded once however many pools share it;
 * 2. import them all (`import(file URL)`) and check each default export
 *    ({@link importPolicy});
 * 3. any failure: a ConfigError with one issue per pool that names a broken module,
 *    at `pool.<name>.policy` in `config.source` (with its line when known); else the table.
 *
 * Node caches a module by its URL, so loading the same path again gives the same
 * module: callers that want to see an edited file (a reload) must pass a new one.
 */
export async function loadPolicies(config: Config): Promise<Readonly<Record<string, PolicyFactory>>> {
  const users = new Map<string, string[]>(); // module path -> key paths naming it
  for (const pool of config.pools) {
    if (Object.hasOwn(builtinPolicies, pool.policy) || !isPolicyModule(pool.policy)) continue;
    const keyPath = config.layout === 'quick' ? '--policy' : `pool.${pool.name}.policy`;
    users.set(pool.policy, [...(users.get(pool.policy) ?? []), keyPath]);
  }
  const loaded = await Promise.all(
    [...users].map(async ([path, keyPaths]) => {
      const failures: PolicyModuleError[] = [];
      let policy: Policy | undefined;
      for (const keyPath of keyPaths) {
        try {
          policy = await importPolicy(path, keyPath);
        } catch (err) {
          if (!(err instanceof PolicyModuleError)) throw err;
          failures.push(err);
        }
      }
      return { path, policy, failures };
    }),
  );

  const failures = loaded.flatMap((l) => l.failures);
  if (failures.length > 0) {
    const locate = locatorOf(config);
    const issues = failures.map((f): ConfigIssue => ({ file: config.source, path: f.keyPath, ...locate?.(f.keyPath), message: f.detail }));
    throw new ConfigError(issues, { cause: failures.length === 1 ? failures[0] : new AggregateError(failures) });
  }
  const policies: Record<string, PolicyFactory> = { ...builtinPolicies };
  for (const { path, policy } of loaded) if (policy) policies[path] = () => policy;
  return Object.freeze(policies);
}

/**
 * Imports one policy module and returns its default export, the policy operator; a
 * PolicyModuleError says what is wrong otherwise:
 * 1. no file at `path` (or a folder): not found;
 * 2. the import throws (a syntax error, a missing dependency): that error;
 * 3. no default export, or one that is not a function: what was found instead (a
 *    CommonJS module's is `module.exports`, or `exports.default` if compiled from ESM);
 * 4. applied to a stream of requests it must give an Observable, without subscribing:
 *    a function back means a factory (`export default roundRobin` for `roundRobin()`).
 */
export async function importPolicy(path: string, keyPath = 'policy'): Promise<Policy> {
  const fail = (detail: string, cause?: unknown): PolicyModuleError =>
    new PolicyModuleError(keyPath, path, `cannot load policy module ${path}: ${detail}`, cause === undefined ? undefined : { cause });
  const file = await stat(path).catch((err: unknown) => err as NodeJS.ErrnoException);
  if (file instanceof Error) throw fail(file.code === 'ENOENT' || file.code === 'ENOTDIR' ? 'no such file' : describeError(file), file);
  if (!file.isFile()) throw fail('not a file');

  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    const missingPackage = (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package/.test(String((err as Error).message));
    const where = missingPackage ? ' (a module finds its imports from its own folder up: `npm install rxlb rxjs` there)' : '';
    throw fail(`${describeError(err)}${where}`, err);
  }
  const hint = 'export default a policy operator, e.g. `export default leastConnections()`';
  if (!('default' in mod) || mod.default === undefined) {
    const names = Object.keys(mod);
    throw fail(`it has no default export (${names.length > 0 ? `it exports ${names.join(', ')}` : 'it exports nothing'}); ${hint}`);
  }
  const policy = compiledDefault(mod.default) ?? mod.default;
  if (typeof policy !== 'function') {
    throw fail(`its default export is ${describeValue(policy)}, not a policy operator function ((requests$) => routed$); ${hint}`);
  }
  let applied: unknown;
  try {
    applied = (policy as (source: unknown) => unknown)(NEVER);
  } catch (err) {
    throw fail(`its default export threw when applied to a request stream: ${describeError(err)}`, err);
  }
  if (typeof applied === 'function') {
    throw fail(
      'its default export looks like a policy factory: applied to a request stream it returned a function, not an Observable; export what the factory makes, e.g. `export default myPolicy()`',
    );
  }
  if (!isObservable(applied)) {
    throw fail(`its default export returned ${describeValue(applied)} when applied to a request stream, not an Observable; ${hint}`);
  }
  return policy as Policy;
}

/**
 * A CommonJS module's default export is its `module.exports`. One compiled from an ES
 * module (TypeScript or Babel, from `export default policy`) sets `exports.default`
 * and marks itself `__esModule`: its default export is that `default`, as bundlers and
 * TypeScript read it. Undefined for any other module.
 */
function compiledDefault(exported: unknown): unknown {
  if (typeof exported !== 'object' || exported === null) return undefined;
  const { __esModule: marked, default: inner } = exported as { __esModule?: unknown; default?: unknown };
  return marked === true ? inner : undefined;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) {
    try {
      return String(err);
    } catch {
      return `it threw ${describeValue(err)}`; // an object String() cannot convert (no prototype)
    }
  }
  const first = err.message.split('\n')[0] ?? '';
  return err.name === 'Error' ? first : `${err.name}: ${first}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `a ${typeof value} (${String(value)})`;
    case 'object': {
      const keys = Object.keys(value);
      return keys.length > 0 ? `an object with ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', …' : ''}` : 'an empty object';
    }
    default:
      return `a ${typeof value}`;
  }
}
