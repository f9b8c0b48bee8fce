/**
 * Host identity. A container "moves" only when the machine changes; how the
 * machine is reached (user, port, keys, password, jump hosts) is not part of
 * its identity, so changing those recreates nothing.
 *
 * @module
 */
import type { Host } from "./model.ts";

/**
 * A stable key for the machine a host config points at: `direct` or `ssh:<address>`.
 *
 * @example
 * ```ts
 * import { hostKey } from "./host.ts";
 * const a = hostKey({ sshConfig: { address: "10.0.0.2", port: 22, user: "root" } });
 * const b = hostKey({ sshConfig: { address: "10.0.0.2", port: 2222, user: "core", password: "x" } });
 * if (a !== b || a !== "ssh:10.0.0.2") throw new Error("wrong");
 * ```
 */
export function hostKey(host: Host): string {
  return host.sshConfig === undefined ? "direct" : `ssh:${host.sshConfig.address}`;
}

/** How a host is named in messages and output: `local` or its address. */
export function hostLabel(host: Host): string {
  return host.sshConfig === undefined ? "local" : host.sshConfig.address;
}
