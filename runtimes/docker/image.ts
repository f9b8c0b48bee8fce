/**
 * Registry credentials and the pull progress stream.
 *
 * @module
 */
import { BerthError } from "../../core/errors.ts";
import type { DockerRuntimeConfig } from "../../core/model.ts";

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
  /** What the engine is doing, such as `Downloading` or `Pull complete`. */
  status?: string;
  /** The layer it is about (a short id), when it is about one. */
  id?: string;
  /** The engine's progress bar as text, such as `[==>   ] 1.2MB/3.4MB`. */
  progress?: string;
  /** Bytes done (`current`) out of `total`, while a layer downloads or extracts. */
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
      throw new BerthError("ENGINE", `${doing}: unreadable progress line ${JSON.stringify(line.slice(0, 80))}`, {
        cause: err,
      });
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
