/**
 * The home directory and `~` in local paths.
 *
 * @module
 */
import { homedir } from "node:os";
import { join } from "node:path";
import type { Environment } from "./env-reference.ts";

/** The home directory: `HOME` from `env` when set, else the account's. */
export function homeDir(env: Environment): string {
  return env["HOME"] || homedir();
}

/**
 * `~` and `~/...` expanded to the home directory; other paths unchanged.
 *
 * @example
 * ```ts
 * import { expandHome } from "./home.ts";
 * if (expandHome("~/.ssh/id_ed25519", { HOME: "/home/ops" }) !== "/home/ops/.ssh/id_ed25519") throw new Error();
 * if (expandHome("/etc/x", { HOME: "/home/ops" }) !== "/etc/x") throw new Error();
 * ```
 */
export function expandHome(path: string, env: Environment): string {
  if (path === "~") return homeDir(env);
  return path.startsWith("~/") ? join(homeDir(env), path.slice(2)) : path;
}
