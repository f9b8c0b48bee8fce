/**
 * One test API for both runners: `bun test` gets `bun:test` itself; on Node
 * (`node --import tsx --test`) the same names map onto `node:test` with a
 * small `expect` over `node:assert`. Tests import from here, never from
 * `bun:test` directly, so the same suite runs on Node and on Bun.
 */
import { detectRuntime } from "./js-runtime.ts";

type Api = typeof import("./node-harness.ts");
const api: Api = detectRuntime() === "bun"
  ? (await import("bun:test" as string)) as Api
  : await import("./node-harness.ts");

export const { describe, test, expect, beforeAll, afterAll, beforeEach, afterEach } = api;
