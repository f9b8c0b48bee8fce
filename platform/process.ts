/**
 * Whether a process of this machine still runs: used to tell a lock or a
 * helper container left by a killed run from one that is in use.
 *
 * @module
 */
import { hostname } from "node:os";

/** `hostname:pid` of this process, recorded on what it owns. */
export function processOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * True when `owner` (`hostname:pid`) names a process that is gone. An owner
 * on another machine, or one that cannot be read, is never called gone.
 */
export function ownerIsGone(owner: string | undefined): boolean {
  const match = /^(.*):(\d+)$/.exec(owner ?? "");
  if (match === null || match[1] !== hostname()) return false;
  try {
    process.kill(Number(match[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "EPERM";
  }
}
