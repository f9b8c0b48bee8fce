/**
 * Image references, split the way registries and both runtime plugins need them.
 *
 * @module
 */
import { BerthError } from "../core/errors.ts";
import type { ImageIdentity } from "../core/model.ts";

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
 * import { parseImageReference } from "./image-reference.ts";
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
  const registry = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost")
    ? first
    : "docker.io";
  return { registry, repository, tag };
}

/**
 * An image's identity: its ID, and of its repository digests (`repo@sha256:...`)
 * the one of the reference's repository, where there is one.
 *
 * @example
 * ```ts
 * import { identityOf } from "./image-reference.ts";
 * const id = identityOf("127.0.0.1:5000/app:1", "sha256:aa", ["127.0.0.1:5000/app@sha256:bb"]);
 * if (id.digest !== "127.0.0.1:5000/app@sha256:bb") throw new Error("wrong");
 * ```
 */
export function identityOf(image: string, id: string, repoDigests: string[]): ImageIdentity {
  const { repository } = parseImageReference(image);
  const names = new Set([repository, `docker.io/${repository}`, `docker.io/library/${repository}`]);
  const digest = repoDigests.find((d) => names.has(d.slice(0, d.indexOf("@"))));
  return digest === undefined ? { id } : { id, digest };
}

/** The error of `pull: never` when the image is not on the host. */
export function imageMissing(image: string, host: string): BerthError {
  return new BerthError(
    "NOT_FOUND",
    `image "${image}" is not on host ${host} and the container's pull policy is never: load or pull it there first, or set pull: missing`,
    { host },
  );
}
