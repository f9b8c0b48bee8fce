/**
 * Warnings that every host of a run may repeat (an insecure host key
 * policy): gathered and printed as one line with a count when the run's
 * connections close, not one line per host.
 *
 * @module
 */

/** Warnings, per host, that are said once for all hosts: the pattern captures the host. */
const GROUPED: Array<{ pattern: RegExp; say: (hosts: string[]) => string }> = [{
  pattern: /^WARNING: not verifying the host key of (.+?) \(hostKeyPolicy: insecure\)/,
  say: (hosts) =>
    `not verifying the host keys of ${hosts.length} host${hosts.length === 1 ? "" : "s"} (hostKeyPolicy: insecure): ${
      shortList(hosts)
    }`,
}];

/** A log that holds back per-host policy warnings; `flush()` prints each as one line. */
export interface GroupedLog {
  log: (message: string) => void;
  flush: () => void;
}

/**
 * @param warn Where warnings go (the CLI's `warning: ...` line).
 *
 * @example
 * ```ts
 * import { groupedLog } from "./host-warnings.ts";
 * const lines: string[] = [];
 * const g = groupedLog((m) => lines.push(m));
 * g.log("WARNING: not verifying the host key of root@a:22 (hostKeyPolicy: insecure); it offered X");
 * g.log("WARNING: not verifying the host key of root@b:22 (hostKeyPolicy: insecure); it offered Y");
 * g.flush();
 * if (lines.length !== 1 || !lines[0]?.includes("2 hosts")) throw new Error("not grouped");
 * ```
 */
export function groupedLog(warn: (message: string) => void): GroupedLog {
  const held = GROUPED.map(() => new Set<string>());
  return {
    log(message) {
      for (const [i, group] of GROUPED.entries()) {
        const host = group.pattern.exec(message)?.[1];
        if (host !== undefined) {
          held[i]?.add(host);
          return;
        }
      }
      warn(message);
    },
    flush() {
      for (const [i, group] of GROUPED.entries()) {
        const hosts = [...(held[i] ?? [])].sort();
        if (hosts.length > 0) warn(group.say(hosts));
        held[i]?.clear();
      }
    },
  };
}

function shortList(hosts: string[]): string {
  const shown = hosts.slice(0, 3).join(", ");
  return hosts.length > 3 ? `${shown} and ${hosts.length - 3} more` : shown;
}
