/**
 * Where the Docker engine listens and how to open a connection to it:
 * `unix:///path` or `tcp://host:port`, optionally with TLS, with the
 * DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH defaults.
 *
 * @module
 */
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { abortedError, BerthError } from "../../core/errors.ts";
import { DEFAULT_DOCKER_HOST, type DockerRuntimeConfig } from "../../core/model.ts";
import type { Transport } from "../../transports/transport.ts";
import type { Connect } from "../../transports/http/http-client.ts";
import { homeDir } from "../../core/home.ts";

/** TLS settings as PEM file paths. */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  verify: boolean;
}

/** A resolved engine address. */
export type Endpoint =
  | { kind: "unix"; path: string }
  | { kind: "tcp"; host: string; port: number; tls?: TlsFiles };

/**
 * Resolves the engine address from the config, falling back to the docker
 * CLI's environment variables (pass `{}` when they must not apply, e.g. for
 * a host reached through SSH).
 *
 * @param config The runtime settings.
 * @param env Environment to take defaults from.
 * @returns The endpoint.
 * @throws {BerthError} VALIDATION when the address is not `unix://` or `tcp://`.
 *
 * @example
 * ```ts
 * import { resolveEndpoint } from "./endpoint.ts";
 * const e = resolveEndpoint({ host: "tcp://10.0.0.2:2376", tls: { ca: "/ca.pem" } }, {});
 * if (e.kind !== "tcp" || e.port !== 2376 || e.tls?.verify !== true) throw new Error("unexpected");
 * ```
 */
export function resolveEndpoint(config: DockerRuntimeConfig, env: Record<string, string | undefined>): Endpoint {
  const address = config.host ?? (env["DOCKER_HOST"] || DEFAULT_DOCKER_HOST);
  if (address.startsWith("unix://")) {
    const path = address.slice("unix://".length);
    if (!path.startsWith("/")) {
      throw new BerthError("VALIDATION", `Docker host "${address}": a unix socket path must be absolute`);
    }
    return { kind: "unix", path };
  }
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(address);
  if (tcp === null) throw new BerthError("VALIDATION", `Docker host "${address}": use unix:///path or tcp://host:port`);
  const tls = config.host === undefined && config.tls === undefined ? tlsFromEnv(env) : tlsFromConfig(config.tls);
  const host = (tcp[1] as string).replace(/^\[|\]$/g, "");
  const port = tcp[2] === undefined ? (tls === undefined ? 2375 : 2376) : Number(tcp[2]);
  return tls === undefined ? { kind: "tcp", host, port } : { kind: "tcp", host, port, tls };
}

function tlsFromConfig(tls: DockerRuntimeConfig["tls"]): TlsFiles | undefined {
  if (tls === undefined) return undefined;
  return { ...tls, verify: tls.verify ?? tls.ca !== undefined };
}

function tlsFromEnv(env: Record<string, string | undefined>): TlsFiles | undefined {
  const verify = (env["DOCKER_TLS_VERIFY"] ?? "") !== "";
  const certPath = env["DOCKER_CERT_PATH"] || undefined;
  if (!verify && certPath === undefined) return undefined;
  const dir = certPath ?? join(homeDir(env), ".docker");
  return { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem"), verify };
}

/** How the endpoint is named in messages. */
export function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.kind === "unix" ? `unix://${endpoint.path}` : `tcp://${endpoint.host}:${endpoint.port}`;
}

/**
 * A connect function for the HTTP client: streams from the transport,
 * wrapped in TLS when the endpoint asks for it.
 *
 * @param endpoint Where the engine listens.
 * @param transport How the host is reached.
 * @returns A function opening one connection per call.
 */
export function endpointConnect(endpoint: Endpoint, transport: Transport): Connect {
  if (endpoint.kind === "unix") return ({ signal }) => transport.openUnixSocket(endpoint.path, { signal });
  const tls = endpoint.tls;
  if (tls === undefined) return ({ signal }) => transport.openTcp(endpoint.host, endpoint.port, { signal });
  let pems: Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> | undefined;
  return async ({ signal }) => {
    pems ??= readPems(tls).catch((err: unknown) => {
      pems = undefined;
      throw err;
    });
    const files = await pems;
    const raw = await transport.openTcp(endpoint.host, endpoint.port, { signal });
    return await secure(raw, endpoint.host, tls.verify, files, signal);
  };
}

async function readPems(tls: TlsFiles): Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> {
  const read = async (path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (err) {
      throw new BerthError("VALIDATION", `reading TLS file "${path}": ${(err as Error).message}`, { cause: err });
    }
  };
  const [ca, cert, key] = await Promise.all([read(tls.ca), read(tls.cert), read(tls.key)]);
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}

function secure(
  raw: Duplex,
  host: string,
  verify: boolean,
  files: { ca?: Buffer; cert?: Buffer; key?: Buffer },
  signal: AbortSignal,
): Promise<Duplex> {
  const socket = tlsConnect({
    socket: raw,
    host,
    ...(isIP(host) === 0 && { servername: host }),
    rejectUnauthorized: verify,
    ...files,
  });
  return once(socket, "secureConnect", { signal }).then(
    () => socket,
    (err: Error) => {
      socket.destroy();
      raw.destroy();
      if (signal.aborted) throw abortedError(`TLS handshake with ${host}`, signal);
      throw new BerthError("CONNECT", `TLS handshake with ${host}: ${err.message}`, { cause: err });
    },
  );
}
