/**
 * The subset of `bun:test` berth's tests use, on top of `node:test`.
 * Only what the suite needs; extend it when a test needs more.
 */
import assert from "node:assert/strict";
import * as nodeTest from "node:test";

type Fn = () => unknown;
type TestOptions = { timeout?: number } | number;

function timeoutOf(options?: TestOptions): { timeout?: number } {
  if (options === undefined) return {};
  return typeof options === "number" ? { timeout: options } : options;
}

export function describe(name: string, fn: () => void): void {
  nodeTest.describe(name, fn);
}
export function test(name: string, fn: Fn, options?: TestOptions): void {
  nodeTest.test(name, timeoutOf(options), async () => {
    await fn();
  });
}
test.skip = (name: string, _fn: Fn, _options?: TestOptions): void => {
  nodeTest.test(name, { skip: true }, () => {});
};
test.if = (condition: boolean) => condition ? test : test.skip;

export function beforeAll(fn: Fn, options?: TestOptions): void {
  nodeTest.before(async () => {
    await fn();
  }, timeoutOf(options));
}
export function afterAll(fn: Fn, options?: TestOptions): void {
  nodeTest.after(async () => {
    await fn();
  }, timeoutOf(options));
}
export function beforeEach(fn: Fn): void {
  nodeTest.beforeEach(async () => {
    await fn();
  });
}
export function afterEach(fn: Fn): void {
  nodeTest.afterEach(async () => {
    await fn();
  });
}

function matchesError(err: unknown, expected?: string | RegExp | (new (...a: never[]) => unknown)): void {
  if (expected === undefined) return;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof expected === "string") {
    assert.ok(
      message.includes(expected),
      `expected error containing ${JSON.stringify(expected)}, got ${JSON.stringify(message)}`,
    );
  } else if (expected instanceof RegExp) assert.match(message, expected);
  else assert.ok(err instanceof expected, `expected error of type ${expected.name}, got ${String(err)}`);
}

function matchers(actual: unknown, negate: boolean) {
  const check = (pass: boolean, message: string) => {
    if (pass === negate) assert.fail(negate ? `not: ${message}` : message);
  };
  const isDeepEqual = (a: unknown, b: unknown) => {
    try {
      assert.deepStrictEqual(a, b);
      return true;
    } catch {
      return false;
    }
  };
  const show = (v: unknown) => {
    try {
      return JSON.stringify(v);
    } catch {
      return String(v);
    }
  };
  return {
    toBe: (expected: unknown) => check(Object.is(actual, expected), `expected ${show(actual)} to be ${show(expected)}`),
    toEqual: (expected: unknown) =>
      check(isDeepEqual(actual, expected), `expected ${show(actual)} to equal ${show(expected)}`),
    toStrictEqual: (expected: unknown) =>
      check(isDeepEqual(actual, expected), `expected ${show(actual)} to equal ${show(expected)}`),
    toBeDefined: () => check(actual !== undefined, `expected value to be defined`),
    toBeUndefined: () => check(actual === undefined, `expected ${show(actual)} to be undefined`),
    toBeNull: () => check(actual === null, `expected ${show(actual)} to be null`),
    toBeTruthy: () => check(Boolean(actual), `expected ${show(actual)} to be truthy`),
    toBeFalsy: () => check(!actual, `expected ${show(actual)} to be falsy`),
    toBeGreaterThan: (n: number) => check((actual as number) > n, `expected ${show(actual)} > ${n}`),
    toBeGreaterThanOrEqual: (n: number) => check((actual as number) >= n, `expected ${show(actual)} >= ${n}`),
    toBeLessThan: (n: number) => check((actual as number) < n, `expected ${show(actual)} < ${n}`),
    toBeLessThanOrEqual: (n: number) => check((actual as number) <= n, `expected ${show(actual)} <= ${n}`),
    toBeInstanceOf: (cls: new (...a: never[]) => unknown) =>
      check(actual instanceof cls, `expected instance of ${cls.name}`),
    toContain: (item: unknown) =>
      check(
        typeof actual === "string" ? actual.includes(item as string) : (actual as unknown[]).includes(item),
        `expected ${show(actual)} to contain ${show(item)}`,
      ),
    toHaveLength: (n: number) =>
      check(
        (actual as { length: number }).length === n,
        `expected length ${n}, got ${(actual as { length: number }).length}`,
      ),
    toMatch: (re: RegExp | string) =>
      check(
        typeof re === "string" ? String(actual).includes(re) : re.test(String(actual)),
        `expected ${show(actual)} to match ${String(re)}`,
      ),
    toHaveProperty: (key: string) =>
      check(actual !== null && typeof actual === "object" && key in (actual as object), `expected property ${key}`),
    toMatchObject: (expected: object) => {
      const subset = Object.fromEntries(Object.keys(expected).map((k) => [k, (actual as Record<string, unknown>)[k]]));
      check(isDeepEqual(subset, expected), `expected ${show(actual)} to match ${show(expected)}`);
    },
    toThrow: (expected?: string | RegExp | (new (...a: never[]) => unknown)) => {
      let threw = false;
      try {
        (actual as () => unknown)();
      } catch (err) {
        threw = true;
        if (!negate) matchesError(err, expected);
      }
      check(threw, "expected function to throw");
    },
  };
}

export function expect(actual: unknown) {
  return {
    ...matchers(actual, false),
    not: matchers(actual, true),
    rejects: {
      toThrow: async (expected?: string | RegExp | (new (...a: never[]) => unknown)) => {
        try {
          await (actual as Promise<unknown>);
        } catch (err) {
          matchesError(err, expected);
          return;
        }
        assert.fail("expected promise to reject");
      },
    },
    resolves: {
      toBeUndefined: async () => assert.equal(await (actual as Promise<unknown>), undefined),
      toBe: async (v: unknown) => assert.equal(await (actual as Promise<unknown>), v),
    },
  };
}
