/**
 * Rules for strings in the model (names, images, paths, modes, addresses):
 * each returns a problem message naming the fix, or `undefined` when fine.
 *
 * @module
 */
import { isIP } from "node:net";
import { parseDuration } from "./duration.ts";
import { FILE_HELPER_PREFIX } from "./model.ts";
import { quote, type Rule } from "./shape.ts";
export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Docker-compatible container name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
export const containerNameRule: Rule = (name) => {
  if (name === "") return "set a container name";
  if (name.startsWith(FILE_HELPER_PREFIX)) {
    return `${
      quote(name)
    } starts with "${FILE_HELPER_PREFIX}", which berth keeps for its file helper containers: choose another name`;
  }
  return CONTAINER_NAME.test(name)
    ? undefined
    : `${quote(name)} is not a valid name: use letters, digits, "_", "." and "-", starting with a letter or digit`;
};

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DOMAIN = /^(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::\d+)?$/;
const IPV6_DOMAIN = /^\[[0-9a-fA-F:]+\](?::\d+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function isImageReference(image: string): boolean {
  if (IMAGE_ID.test(image)) return true;
  let rest = image;
  const atSign = rest.indexOf("@");
  if (atSign >= 0) {
    if (!DIGEST.test(rest.slice(atSign + 1))) return false;
    rest = rest.slice(0, atSign);
  }
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    if (!TAG.test(rest.slice(colon + 1))) return false;
    rest = rest.slice(0, colon);
  }
  if (rest.length === 0 || rest.length > 255) return false;
  const components = rest.split("/");
  const first = components[0] as string;
  if (
    components.length > 1 &&
    (first.includes(".") || first.includes(":") || first.startsWith("[") || first === "localhost")
  ) {
    if (!DOMAIN.test(first) && !IPV6_DOMAIN.test(first)) return false;
    components.shift();
  }
  return components.every((c) => PATH_COMPONENT.test(c));
}

/** A plausible image reference: `[registry/]repository[:tag][@digest]` or an image id. */
export const imageRule: Rule = (image) => {
  if (image === "") return 'set the image to run, such as "busybox:1.36"';
  if (/\s/.test(image)) return `image ${quote(image)} contains whitespace; remove it`;
  return isImageReference(image)
    ? undefined
    : `${
      quote(image)
    } is not a valid image reference: use [registry/]repository[:tag][@digest] with a lowercase repository`;
};

function hasDotSegments(path: string): boolean {
  return path.split("/").some((segment) => segment === ".." || segment === ".");
}

/** An absolute path on the host or in the container, without `..`. */
export const absolutePathRule: Rule = (path) => {
  if (!path.startsWith("/")) return `expected an absolute path (starting with "/"), got ${quote(path)}`;
  if (path.includes("\0")) return "paths cannot contain NUL characters";
  if (hasDotSegments(path)) return `${quote(path)} contains "." or ".." segments; write the path without them`;
  return undefined;
};

/** A config file path: absolute and normalised, not `/`. */
export const configFilePathRule: Rule = (path) => {
  const base = absolutePathRule(path);
  if (base !== undefined) return base;
  if (path === "/") return 'a config file path cannot be "/"; name the file, such as "/etc/app/app.conf"';
  if (path.includes("//") || path.endsWith("/")) {
    return `${quote(path)} is not normalised: write it without "//" and without a trailing "/"`;
  }
  return undefined;
};

export const mountTargetRule: Rule = (path) =>
  absolutePathRule(path) ?? (path === "/" ? 'a mount target cannot be "/"' : undefined);

export const envNameRule: Rule = (name) => {
  if (name === "") return "environment variable names cannot be empty";
  if (name.includes("=")) {
    return `environment variable name ${quote(name)} contains "="; put the value on the right-hand side`;
  }
  if (name.includes("\0")) return "environment variable names cannot contain NUL characters";
  return undefined;
};

export function oneOf(what: string, allowed: readonly string[], emptyAllowed: boolean): Rule {
  return (value) => {
    if (value === "" && emptyAllowed) return undefined;
    return allowed.includes(value)
      ? undefined
      : `${quote(value)} is not a valid ${what}: use one of ${allowed.join(", ")}`;
  };
}

export const ipRule: Rule = (
  ip,
) => (ip === "" || isIP(ip) !== 0 ? undefined : `${quote(ip)} is not an IPv4 or IPv6 address`);

export function modeRule(what: string, keywords: readonly string[], networkNames: boolean): Rule {
  const shown = [...keywords, "container:<name>", ...(networkNames ? ["a network name"] : [])].join(", ");
  return (mode) => {
    if (mode === "" || keywords.includes(mode)) return undefined;
    if (mode.startsWith("container:") && CONTAINER_NAME.test(mode.slice("container:".length))) return undefined;
    if (networkNames && CONTAINER_NAME.test(mode)) return undefined;
    return `${quote(mode)} is not a valid ${what}: use ${shown}`;
  };
}

const PLAIN_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function plainUserRule(field: "user" | "group"): Rule {
  return (value) => {
    if (value === "") return undefined;
    if (field === "user" && value.includes(":")) return `set the group in group: instead of in user ${quote(value)}`;
    return PLAIN_USER.test(value) ? undefined : `${quote(value)} is not a plain ${field} name or id`;
  };
}

export const nonEmptyRule = (what: string): Rule => (value) => (value === "" ? `set ${what}` : undefined);

export const durationRule: Rule = (text) => {
  try {
    parseDuration(text);
    return undefined;
  } catch {
    return `${quote(text)} is not a duration: use a number with a unit, such as "30s", "1m" or "1m30s"`;
  }
};

const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

export const addressRule: Rule = (address) => {
  if (address === "") return "set the host name or IP address to connect to";
  if (isIP(address) !== 0) return undefined;
  if (/^[^:]+:\d+$/.test(address)) return `set the port in port:, not in the address ${quote(address)}`;
  const labels = address.endsWith(".") ? address.slice(0, -1).split(".") : address.split(".");
  if (address.length <= 253 && labels.every((label) => label.length <= 63 && HOST_LABEL.test(label))) return undefined;
  return `${quote(address)} is not a host name or IP address`;
};

export const criAddressRule: Rule = (address) => {
  if (/^unix:\/\/\/./.test(address)) return undefined;
  return `${quote(address)} is not a CRI socket address: use "unix:///run/containerd/containerd.sock"`;
};

export const dockerHostRule: Rule = (host) => {
  if (host === "" || /^unix:\/\/\/\S+$/.test(host) || /^tcp:\/\/[^/\s]+\/?$/.test(host)) return undefined;
  return `${quote(host)} is not an engine address: use "unix:///var/run/docker.sock" or "tcp://host:port"`;
};
