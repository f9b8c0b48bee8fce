/**
 * Chooses the transport for a host's settings. The SSH transport (and
 * ssh2 with it) is loaded only when a host needs it.
 *
 * @module
 */
import type { Host } from "../core/model.ts";
import type { Transport } from "./transport.ts";

/** Options passed through to the transport. */
export interface OpenTransportOptions {
  /** Warnings (e.g. an insecure host key policy). */
  log?: (message: string) => void;
  /** Environment for secrets and SSH_AUTH_SOCK; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** One connection attempt per host, no retries reported at once instead of retried until `retryTimeout`. */
  failFast?: boolean;
}

/**
 * A transport for the host, not yet connected.
 *
 * @param host A validated host (exactly one of directConfig / sshConfig).
 */
export async function openTransport(host: Host, options: OpenTransportOptions = {}): Promise<Transport> {
  if (host.sshConfig !== undefined) {
    const { sshTransport } = await import("./ssh/mod.ts");
    return sshTransport(host.sshConfig, options);
  }
  const { directTransport } = await import("./direct.ts");
  return directTransport();
}
