/**
 * Container ids in messages.
 *
 * @module
 */

/**
 * A container id as people see it: a full 64-hex id shortened to its first
 * 12 characters (as `docker ps` shows it); anything else (a name) unchanged.
 *
 * @example
 * ```ts
 * import { shortId } from "./container-id.ts";
 * if (shortId("a".repeat(64)) !== "aaaaaaaaaaaa") throw new Error("not shortened");
 * if (shortId("etcd") !== "etcd") throw new Error("a name changed");
 * ```
 */
export function shortId(idOrName: string): string {
  return /^[0-9a-f]{64}$/.test(idOrName) ? idOrName.slice(0, 12) : idOrName;
}
