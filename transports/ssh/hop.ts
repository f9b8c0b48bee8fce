/**
 * One SSH connection (one hop): TCP (or a given stream, for jumps),
 * handshake with host key verification, authentication. Failures become
 * `CONNECT` (worth retrying), `AUTH` or `HOST_KEY` errors.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import ssh2 from "ssh2";
import type { Client, ConnectConfig } from "ssh2";
import { abortedError, BerthError } from "../../core/errors.ts";
import { authHandler, authMethods } from "./auth.ts";
import { hostKeyVerifier } from "./host-key.ts";
import { describeHop, type HopSettings } from "./settings.ts";
import { signalOption } from "../../core/signal.ts";

/**
 * SSH keepalive: a probe after 3 s without traffic; the connection is dropped when 3 go unanswered, so a
 * host that stops answering is noticed within 12 s (ssh2 gives up on the probe after the last one).
 */
const KEEPALIVE_INTERVAL_MS = 3_000;
const KEEPALIVE_COUNT_MAX = 3;

/** The cause of a connection attempt the host never answered: retrying would only wait as long again. */
export class SilentHostError extends Error {
  override name = "SilentHostError";
}

/** Whether a {@link SilentHostError} is among `err`'s causes (each layer above the hop wraps it once more). */
export function fromSilentHost(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof SilentHostError) return true;
  return false;
}

/** Options of {@link connectHop}. */
export interface HopOptions {
  /** A stream to the server (a channel of the previous hop) instead of a TCP connection. */
  sock?: Duplex;
  signal?: AbortSignal;
  /** Where warnings go. */
  log: (message: string) => void;
}

/**
 * Connects and authenticates to one SSH server.
 *
 * @returns A ready ssh2 client.
 * @throws {BerthError} `CONNECT`, `AUTH`, `HOST_KEY` or `ABORTED`, naming `user@address:port`.
 */
export async function connectHop(hop: HopSettings, options: HopOptions): Promise<Client> {
  const who = describeHop(hop);
  const verifier = await hostKeyVerifier(hop, options.log);
  const methods = await authMethods(hop, signalOption(options.signal));
  const tried: string[] = [];
  const agentProblems: string[] = [];
  const client = new ssh2.Client();
  const classify = (err: Error & { level?: string }): BerthError => {
    const rejected = verifier.rejection();
    if (rejected !== undefined) return rejected;
    if (err.level === "client-authentication") {
      const problems = agentProblems.length === 0 ? "" : `; agent: ${agentProblems.join("; ")}`;
      return new BerthError(
        "AUTH",
        `Authentication as ${who} failed (tried: ${tried.join(", ") || "nothing the server accepts"})${problems}`,
        {
          host: hop.address,
          cause: err,
        },
      );
    }
    if (err.level === "client-timeout") {
      return new BerthError(
        "CONNECT",
        `${who}: no SSH handshake within ${hop.connectionTimeoutMs}ms (connectionTimeout): the host does not answer`,
        { host: hop.address, cause: new SilentHostError(err.message) },
      );
    }
    return new BerthError("CONNECT", `${who}: ${err.message}`, { host: hop.address, cause: err });
  };

  return await new Promise<Client>((resolve, reject) => {
    let settled = false;
    const finish = (err?: BerthError) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      if (err === undefined) return resolve(client);
      client.destroy();
      reject(err);
    };
    const onAbort = () => finish(abortedError(`connecting to ${who}`, options.signal));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    client.on("ready", () => finish());
    answerHostKeys(client);
    client.on("error", (err: Error & { level?: string }) => {
      // ssh2 reports an unusable agent and goes on with the next method.
      if (err.level === "agent") agentProblems.push(err.message);
      else finish(classify(err));
    });
    client.on("close", () => finish(classify(new Error("connection closed during the SSH handshake"))));
    const config: ConnectConfig = {
      host: hop.address,
      port: hop.port,
      username: hop.user,
      readyTimeout: hop.connectionTimeoutMs,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      hostVerifier: verifier.verify,
      authHandler: authHandler(methods, tried),
    };
    if (options.sock !== undefined) config.sock = options.sock;
    if (verifier.algorithms !== undefined) config.algorithms = { serverHostKey: verifier.algorithms };
    try {
      client.connect(config);
      // Requests are small and latency-bound: no Nagle delay (OpenSSH sets TCP_NODELAY too).
      client.setNoDelay(true);
    } catch (err) {
      finish(classify(err as Error));
    }
  });
}

/**
 * Sends a packet back once sshd has proved its host keys. sshd announces
 * them (`hostkeys-00@openssh.com`) as the first channel opens, ssh2 asks for
 * the proof, and sshd's answer is a packet this side does not answer: the
 * kernel delays its acknowledgement (up to 40 ms), and sshd, which turns
 * Nagle's algorithm off only when a session starts (strace: a connection
 * with forwarded channels alone gets SO_KEEPALIVE, no TCP_NODELAY), holds
 * its next small packet, the reply to berth's first request, until that
 * acknowledgement comes: the first request on a host took ~45 ms instead of
 * ~2 that way, on Node, Bun and Deno alike. An SSH_MSG_IGNORE carries the
 * acknowledgement and asks for nothing back (a keepalive did too, but its
 * own reply was then the packet left unacknowledged: 15 to 22 of 50 first
 * requests still waited, against 0 of 50 with this; 25 of 40 with nothing
 * sent). ssh2 has no public call for it: the packet is made and sent as
 * ssh2's own keepalive is (its write buffer, then its cipher), and without
 * those internals nothing is sent.
 */
export function answerHostKeys(client: Client): void {
  client.on("hostkeys", () => {
    const proto = (client as unknown as { _protocol?: SshProtocolInternals })._protocol;
    const write = proto?._packetRW?.write;
    if (
      proto?._kexinit !== undefined || typeof write?.alloc !== "function" ||
      typeof write.finalize !== "function" || typeof proto?._cipher?.encrypt !== "function"
    ) return;
    const at = write.allocStart;
    const packet = write.alloc(IGNORE_PAYLOAD.length);
    packet.set(IGNORE_PAYLOAD, at);
    proto._cipher.encrypt(write.finalize(packet));
  });
}

/** SSH_MSG_IGNORE (2) with an empty string. */
const IGNORE_PAYLOAD = new Uint8Array([2, 0, 0, 0, 0]);

/** The parts of ssh2's Protocol object answerHostKeys uses (none is public). */
interface SshProtocolInternals {
  /** Set while a key exchange runs: packets are queued then, and this sends none. */
  _kexinit?: unknown;
  _packetRW?: {
    write?: { allocStart: number; alloc: (size: number) => Uint8Array; finalize: (packet: Uint8Array) => Uint8Array };
  };
  _cipher?: { encrypt: (packet: Uint8Array) => void };
}
