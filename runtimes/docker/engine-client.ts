/**
 * Requests to one Docker engine: API version negotiation (once, lazily),
 * versioned paths, JSON bodies, and engine errors turned into BerthErrors.
 *
 * @module
 */
import { BerthError, type ErrorCode, withContext } from "../../core/errors.ts";
import type { HttpClient, HttpRequest, HttpResponse } from "../../transports/http/http-client.ts";
import { signalOption } from "../../core/signal.ts";

/** Highest Engine API version berth speaks. */
export const MAX_API_VERSION = "1.45";
/** Lowest Engine API version berth accepts (Docker 19.03). */
export const MIN_API_VERSION = "1.40";

/** One engine call. `what` names the operation for messages, e.g. `creating container "etcd"`. */
export interface EngineRequest extends Omit<HttpRequest, "path" | "body"> {
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Serialised as JSON. */
  json?: unknown;
  body?: HttpRequest["body"] | undefined;
  what: string;
  /** The container the call is about, recorded on errors. */
  container?: string;
  /** Statuses that are answers rather than errors (their body is left to the caller). */
  accept?: number[];
}

/** Versioned access to an engine. */
export interface EngineClient {
  /** The negotiated API version, e.g. `1.41`. */
  apiVersion(options?: { signal?: AbortSignal }): Promise<string>;
  /** Sends a request; a status outside 2xx (and not in `accept`) throws. */
  request(req: EngineRequest): Promise<HttpResponse>;
  /** Sends a request and parses the JSON answer. */
  json<T>(req: EngineRequest): Promise<T>;
  /** Like `json`, but a 404 (no such container, image, ...) is `undefined` rather than an error. */
  jsonOrMissing<T>(req: EngineRequest): Promise<T | undefined>;
}

/**
 * Compares two `major.minor` API versions.
 *
 * @example
 * ```ts
 * import { compareApiVersions } from "./engine-client.ts";
 * if (compareApiVersions("1.9", "1.41") >= 0) throw new Error("wrong");
 * ```
 */
export function compareApiVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split(".").map(Number);
  const [bMajor = 0, bMinor = 0] = b.split(".").map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

/**
 * Creates the engine client.
 *
 * @param http The HTTP client connected to the engine.
 * @param hostLabel How the host is named in messages.
 * @returns The client.
 */
export function engineClient(http: HttpClient, hostLabel: string): EngineClient {
  let negotiated: Promise<string> | undefined;

  async function negotiate(signal: AbortSignal | undefined): Promise<string> {
    const res = await http.request({ method: "GET", path: "/_ping", ...(signal && { signal }) });
    await res.discard();
    let engineVersion = res.headers["api-version"];
    if (engineVersion === undefined) {
      const version = await http.request({ method: "GET", path: "/version", ...(signal && { signal }) });
      engineVersion = (JSON.parse(await version.text()) as { ApiVersion?: string }).ApiVersion;
    }
    if (engineVersion === undefined || !/^\d+\.\d+$/.test(engineVersion)) {
      throw new BerthError("ENGINE", `connecting to the Docker engine on host ${hostLabel}: no API version reported`);
    }
    if (compareApiVersions(engineVersion, MIN_API_VERSION) < 0) {
      throw new BerthError(
        "ENGINE_TOO_OLD",
        `connecting to the Docker engine on host ${hostLabel}: it speaks API ${engineVersion}, berth needs ${MIN_API_VERSION} or newer (Docker 19.03+); upgrade the engine`,
      );
    }
    return compareApiVersions(engineVersion, MAX_API_VERSION) < 0 ? engineVersion : MAX_API_VERSION;
  }

  function apiVersion(options: { signal?: AbortSignal } = {}): Promise<string> {
    negotiated ??= negotiate(options.signal).catch((err: unknown) => {
      negotiated = undefined;
      throw err;
    });
    return negotiated;
  }

  async function request(req: EngineRequest): Promise<HttpResponse> {
    const doing = `${req.what} on host ${hostLabel}`;
    const context = { host: hostLabel, ...(req.container !== undefined && { container: req.container }) };
    let res: HttpResponse;
    try {
      const version = await apiVersion(signalOption(req.signal));
      const { path, query, json, what: _what, accept: _accept, container: _container, ...rest } = req;
      const headers = { ...req.headers, ...(json !== undefined && { "Content-Type": "application/json" }) };
      const { body, ...others } = rest;
      res = await http.request({
        ...others,
        ...(body !== undefined && { body }),
        path: `/v${version}${path}${queryString(query)}`,
        headers,
        ...(json !== undefined && { body: JSON.stringify(json) }),
      });
    } catch (err) {
      throw withContext(err, doing, context);
    }
    if ((res.status >= 200 && res.status < 300) || req.accept?.includes(res.status)) return res;
    let message: string;
    try {
      message = engineMessage(await res.text());
    } catch (err) {
      throw withContext(err, doing, context);
    }
    throw new BerthError(codeForStatus(res.status), `${doing}: ${message || `HTTP ${res.status}`}`, {
      ...context,
      cause: new Error(`HTTP ${res.status}: ${message}`),
    });
  }

  async function parse<T>(res: HttpResponse, req: EngineRequest): Promise<T> {
    const text = await res.text().catch((err: unknown) => {
      throw withContext(err, `${req.what} on host ${hostLabel}`, { host: hostLabel });
    });
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new BerthError("ENGINE", `${req.what} on host ${hostLabel}: the engine answered with invalid JSON`, {
        cause: err,
      });
    }
  }

  return {
    apiVersion,
    request,
    json: async <T>(req: EngineRequest) => parse<T>(await request(req), req),
    jsonOrMissing: async <T>(req: EngineRequest) => {
      const res = await request({ ...req, accept: [...(req.accept ?? []), 404] });
      if (res.status !== 404) return await parse<T>(res, req);
      await res.discard();
      return undefined;
    },
  };
}

function codeForStatus(status: number): ErrorCode {
  if (status === 400) return "BAD_PARAMETER";
  if (status === 404) return "NOT_FOUND";
  if (status === 409) return "CONFLICT";
  return "ENGINE";
}

function engineMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: use the text itself
  }
  return text.trim();
}

function queryString(query: EngineRequest["query"]): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}
