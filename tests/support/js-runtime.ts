/**
 * Which JavaScript runtime the tests run on (berth itself uses only `node:`
 * built-ins, which Node 20+, Bun and Deno all provide).
 *
 * @module
 */

/** The JavaScript runtimes berth supports. */
export type JsRuntime = "node" | "bun" | "deno";

/** Detects the runtime without touching runtime globals at module load. */
export function detectRuntime(): JsRuntime {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  return "node";
}
