/**
 * How a user runs a TypeScript file on the runtime the tests run on: `bun run`
 * on Bun, `node` with the tsx loader on Node.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { detectRuntime } from "./js-runtime.ts";

/** The repository's root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The command and arguments that run the TypeScript file `script` on this runtime. */
export function tsCommand(script: string): [string, string[]] {
  if (detectRuntime() === "bun") return [process.execPath, ["run", script]];
  const loader = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
  return [process.execPath, ["--import", loader, script]];
}
