/**
 * The digest key of a command's state backend (see store/digest-key.ts):
 * the file beside a state file, `BERTH_DIGEST_KEY` for a state in etcd.
 * Only asked for when there are secrets, so runs without any make no key.
 *
 * @module
 */
import type { ContainersState } from "../core/model.ts";
import { hasSecrets } from "../core/sensitive.ts";
import { loadDigestKey, sharedDigestKey } from "../store/digest-key.ts";
import type { GlobalOptions } from "./commands.ts";
import type { CliIO } from "./io.ts";
import { backendSpec } from "./state-backend.ts";

/** The key for `states` (desired, recorded), or undefined when none of them holds a secret. */
export async function digestKeyFor(
  io: CliIO,
  opts: GlobalOptions,
  ...states: ContainersState[]
): Promise<Uint8Array | undefined> {
  if (!states.some(hasSecrets)) return undefined;
  const spec = await backendSpec(io, opts);
  return "file" in spec ? loadDigestKey(spec.file, io.env) : sharedDigestKey(io.env, "etcd");
}
