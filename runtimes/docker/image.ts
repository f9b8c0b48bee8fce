/**
 * Image references, registry credentials and the pull progress stream.
 *
 * @module
 */
import { BerthError } from "../../core/errors.ts";
import type { DockerRuntimeConfig } from "../../core/model.ts";

/** An image reference split the way the engine's pull endpoint wants it. */
export interface ImageReference {
  /** Registry host: `docker.io` for unqualified names. */
  registry: string;
  /** Everything before the tag or digest, as written (`fromImage`). */
  repository: string;
  /** Tag or digest (`tag`); `latest` when none is given. */
  tag: string;
}

/**
 * Splits an image reference like the docker CLI does: the first path
 * component is a registry when it has a `.` or `:` or is `localhost`.
 *
 * @param image A reference such as `busybox`, `quay.io/coreos/etcd:v3.5`, `127.0.0.1:5000/app@sha256:...`.
 * @returns Registry, repository and tag.
 *
 * @example
 * ```ts
 * import { parseImageReference } from "./image.ts";
 * const ref = parseImageReference("127.0.0.1:5000/app:1.0");
 * if (ref.registry !== "127.0.0.1:5000" || ref.repository !== "127.0.0.1:5000/app" || ref.tag !== "1.0") throw new Error("wrong");
 * ```
 */
export function parseImageReference(image: string): ImageReference {
  let repository = image;
  let tag = "latest";
  const at = image.indexOf("@");
  if (at >= 0) {
    repository = image.slice(0, at);
    tag = image.slice(at + 1);
  } else {
    const colon = image.lastIndexOf(":");
    if (colon > image.lastIndexOf("/")) {
      repository = image.slice(0, colon);
      tag = image.slice(colon + 1);
    }
  }
  const slash = repository.indexOf("/");
  const first = slash < 0 ? "" : repository.slice(0, slash);
  const registry = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "docker.io";
  return { registry, repository, tag };
}

/**
 * The `X-Registry-Auth` header value for a registry, when credentials are configured.
 *
 * @param registry Registry host as in {@link ImageReference}.
 * @param auth Credentials keyed by registry host.
 * @returns Padded base64url JSON, or undefined without credentials.
 */
export function registryAuthHeader(registry: string, auth: DockerRuntimeConfig["registryAuth"]): string | undefined {
  const entry = auth?.[registry];
  if (entry === undefined) return undefined;
  const json = JSON.stringify({ username: entry.username, password: entry.password, serveraddress: registry });
  // The engine decodes with Go's base64.URLEncoding, which wants the "=" padding.
  return Buffer.from(json).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

/** One progress message of a pull, as the engine sends it. */
export interface PullProgress {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
}

/**
 * Reads a pull's JSON-lines stream to its end, reporting progress; an
 * `error` message in the stream (sent with HTTP 200) becomes IMAGE_PULL.
 *
 * @param body The response body.
 * @param doing What is being done, for messages.
 * @param onProgress Called for every progress message.
 */
export async function consumePullStream(
  body: AsyncIterable<Uint8Array>,
  doing: string,
  onProgress?: (progress: PullProgress) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  let failure: string | undefined;
  const handle = (line: string) => {
    if (line.trim() === "") return;
    let message: PullProgress & { error?: string; errorDetail?: { message?: string } };
    try {
      message = JSON.parse(line) as typeof message;
    } catch (err) {
      throw new BerthError("ENGINE", `${doing}: unreadable progress line ${JSON.stringify(line.slice(0, 80))}`, { cause: err });
    }
    if (message.error !== undefined || message.errorDetail !== undefined) {
      failure ??= message.errorDetail?.message ?? message.error ?? "unknown error";
      return;
    }
    onProgress?.(message);
  };
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) handle(line);
  }
  handle(pending + decoder.decode());
  if (failure !== undefined) throw new BerthError("IMAGE_PULL", `${doing}: ${explainPullError(failure)}`);
}

/** Adds a hint to the engine's message when the registry refused the credentials. */
export function explainPullError(message: string): string {
  if (/unauthorized|authentication required|no basic auth credentials|denied/i.test(message)) {
    return `${message} (the registry refused the credentials: check registryAuth for this registry)`;
  }
  return message;
}
