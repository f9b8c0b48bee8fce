/**
 * Rules for strings in the model (names, images, paths, modes, addresses):
 * each returns a problem message naming the fix, or `undefined` when fine.
 *
 * @module
 */
import { isIP } from "node:net";
import { parseDuration } from "./duration.ts";
import { FILE_HELPER_PREFIX } from "./model.ts";
import { isAsideName } from "./aside-name.ts";
import { quote, type Rule } from "./shape.ts";
import { suggest } from "./suggest.ts";
export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A named volume, as Docker takes its names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. */
export const volumeNameRule: Rule = (name) =>
  /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)
    ? undefined
    : `${
      quote(name)
    } is not a volume name: use letters, digits, "_", "." and "-" (at least 2, starting with a letter or digit), such as "data"`;

/** A user-defined network's name; the engine's own networks are not ones berth creates. */
export const networkNameRule: Rule = (name) =>
  ["host", "none", "bridge", "default"].includes(name)
    ? `${quote(name)} is the engine's own network: use networkMode: ${
      name === "default" ? "bridge" : name
    } instead, or another name`
    : /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)
    ? undefined
    : `${quote(name)} is not a network name: use letters, digits, "_", "." and "-", starting with a letter or digit`;

/** An IPv4 subnet in CIDR form, such as `10.20.0.0/24`. */
export const ipv4SubnetRule: Rule = (cidr) => {
  const [address, bits, extra] = cidr.split("/");
  return extra === undefined && bits !== undefined && /^\d{1,2}$/.test(bits) && Number(bits) <= 32 &&
      isIP(address ?? "") === 4
    ? undefined
    : `${quote(cidr)} is not an IPv4 subnet: write address/bits, such as "10.20.0.0/24"`;
};

/** An IPv4 address (static addresses are IPv4 only). */
export const ipv4Rule: Rule = (
  ip,
) => (isIP(ip) === 4 ? undefined : `${quote(ip)} is not an IPv4 address, such as "10.20.0.5"`);

/** Whether an IPv4 address is inside a subnet (both already valid). */
export function inSubnet(ip: string, cidr: string): boolean {
  const toNumber = (a: string) => a.split(".").reduce((n, part) => n * 256 + Number(part), 0);
  const [address, bits] = cidr.split("/") as [string, string];
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(address) / size);
}

/** Docker-compatible container name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
export const containerNameRule: Rule = (name) => {
  if (name === "") return "set a container name";
  if (name.startsWith(FILE_HELPER_PREFIX)) {
    return `${
      quote(name)
    } starts with "${FILE_HELPER_PREFIX}", which berth keeps for its file helper containers: choose another name`;
  }
  if (isAsideName(name)) {
    return `${
      quote(name)
    } ends like the names berth gives old containers set aside during a recreate (".berth-old-<id>"): choose another name`;
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

const RESTART_POLICY = /^(?:no|always|unless-stopped|on-failure(?::\d{1,9})?)$/;

export const restartPolicyRule: Rule = (policy) =>
  RESTART_POLICY.test(policy)
    ? undefined
    : `${quote(policy)} is not a restart policy: use no, always, unless-stopped, ${
      /^on-?failure/i.test(policy)
        ? "or on-failure:N (N, the most restarts, a whole number)"
        : "on-failure or on-failure:N"
    }`;

/** The signal names Linux and Docker know, without the `SIG` prefix. */
const SIGNALS = [
  "HUP",
  "INT",
  "QUIT",
  "ILL",
  "TRAP",
  "ABRT",
  "IOT",
  "BUS",
  "FPE",
  "KILL",
  "USR1",
  "SEGV",
  "USR2",
  "PIPE",
  "ALRM",
  "TERM",
  "STKFLT",
  "CHLD",
  "CONT",
  "STOP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "XCPU",
  "XFSZ",
  "VTALRM",
  "PROF",
  "WINCH",
  "IO",
  "POLL",
  "PWR",
  "SYS",
]; // deno-fmt-ignore

/** `SIGTERM`, `TERM`, `15`, `SIGRTMIN+3`: the forms `docker run --stop-signal` takes. */
export const stopSignalRule: Rule = (signal) => {
  const name = signal.toUpperCase().replace(/^SIG/, "");
  if (SIGNALS.includes(name) || /^RTM(?:IN\+\d{1,2}|AX-\d{1,2}|IN|AX)$/.test(name)) return undefined;
  if (/^\d{1,2}$/.test(signal) && Number(signal) >= 1 && Number(signal) <= 64) return undefined;
  return `${quote(signal)} is not a signal: use a name such as SIGTERM, SIGQUIT or SIGINT, or a number from 1 to 64`;
};

const UNIT: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes of a size written as berth takes it (`512m`, `1g`, `1024`), else undefined. */
export function sizeInBytes(size: number | string): number | undefined {
  if (typeof size === "number") return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
  const match = /^(\d{1,15})([kmg]?)$/.exec(size);
  return match === null ? undefined : Number(match[1]) * (UNIT[match[2] as string] as number);
}

/**
 * The fix for a size berth does not take. Docker's own parser also reads
 * `512M`, `512mb` and `512MiB` (all binary); berth takes one spelling, so a
 * config says the same thing everywhere: the suggestion is that spelling.
 */
export function sizeRule(what: string, min: number): Rule {
  return (size) => {
    const bytes = sizeInBytes(size);
    if (bytes !== undefined) {
      return bytes < min ? `${what} ${quote(size)} is below the engine's minimum of ${min / 1024 ** 2}m` : undefined;
    }
    const spelled = /^(\d+(?:\.\d+)?)\s*([kmgKMG])(?:i?[bB])?$/.exec(size.trim());
    if (spelled !== null) {
      const [, number, unit] = spelled as unknown as [string, string, string];
      const lower = unit.toLowerCase();
      if (/^\d+$/.test(number)) {
        return `write ${
          quote(`${number}${lower}`)
        }: sizes are a whole number and k, m or g (binary: 1024, 1024², 1024³ bytes)`;
      }
      const down = { k: "", m: "k", g: "m" }[lower] as string;
      return `${quote(size)} is not a whole number of ${lower}: write ${
        quote(`${Math.round(Number(number) * 1024)}${down}`)
      }`;
    }
    return `${quote(size)} is not a size: write bytes, or a whole number and k, m or g, such as "512m" or "1g"`;
  };
}

export const cpusetRule: Rule = (set) =>
  set === "" || /^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$/.test(set)
    ? undefined
    : `${quote(set)} is not a CPU list: write CPU numbers and ranges, such as "0-1,3"`;

const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A host or domain name: dot-separated labels of letters, digits and inner hyphens. */
export function dnsNameRule(what: string): Rule {
  return (name) =>
    name === "" || DNS_NAME.test(name)
      ? undefined
      : `${quote(name)} is not a valid ${what}: use letters, digits, "-" and ".", such as "web-1" or "example.com"`;
}

/** A label key of the user's own: berth's keys (`berth.*`) are reserved. */
export const labelKeyRule: Rule = (key) => {
  if (key === "") return "label keys cannot be empty";
  if (/^berth\./i.test(key)) {
    return `label ${
      quote(key)
    } is berth's own (keys starting "berth." are reserved): choose another key, such as "app.${key.slice(6)}"`;
  }
  return /[\s=]/.test(key)
    ? `label key ${quote(key)} contains a space or "=": use letters, digits, ".", "-", "_" and "/"`
    : undefined;
};

/** `name:address` for /etc/hosts (`host-gateway` too, Docker's own address on the host). */
export const extraHostRule: Rule = (entry) => {
  const at = entry.indexOf(":");
  const name = entry.slice(0, at);
  const address = entry.slice(at + 1);
  if (at <= 0 || !DNS_NAME.test(name)) {
    return `${quote(entry)} is not an /etc/hosts entry: write "name:address", such as "db:10.0.0.5"`;
  }
  return isIP(address) !== 0 || address === "host-gateway"
    ? undefined
    : `${quote(entry)}: ${quote(address)} is not an IPv4 or IPv6 address (or host-gateway)`;
};

export const dnsServerRule: Rule = (ip) =>
  isIP(ip) !== 0
    ? undefined
    : `${quote(ip)} is not a DNS server address: write an IPv4 or IPv6 address, such as "1.1.1.1"`;

/** Linux capabilities (capabilities(7)), without the `CAP_` prefix. */
export const CAPABILITIES = [
  "AUDIT_CONTROL",
  "AUDIT_READ",
  "AUDIT_WRITE",
  "BLOCK_SUSPEND",
  "BPF",
  "CHECKPOINT_RESTORE",
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "IPC_LOCK",
  "IPC_OWNER",
  "KILL",
  "LEASE",
  "LINUX_IMMUTABLE",
  "MAC_ADMIN",
  "MAC_OVERRIDE",
  "MKNOD",
  "NET_ADMIN",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_RAW",
  "PERFMON",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYSLOG",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_CHROOT",
  "SYS_MODULE",
  "SYS_NICE",
  "SYS_PACCT",
  "SYS_PTRACE",
  "SYS_RAWIO",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "WAKE_ALARM",
]; // deno-fmt-ignore

export const capabilityRule: Rule = (cap) => {
  const name = cap.toUpperCase().replace(/^CAP_/, "");
  if (name === "ALL" || CAPABILITIES.includes(name)) return undefined;
  const near = suggest(name, CAPABILITIES);
  return `${quote(cap)} is not a Linux capability${near === undefined ? "" : `; did you mean ${near}?`} (see capabilities(7); the CAP_ prefix is optional)`;
};

const SECURITY_OPTS = ["no-new-privileges", "seccomp", "apparmor", "label", "systempaths"];

export const securityOptRule: Rule = (opt) => {
  const [key = "", value] = opt.split(/[=:](.*)/s);
  if (key === "no-new-privileges" && (value === undefined || value === "true" || value === "false")) return undefined;
  if (SECURITY_OPTS.includes(key) && key !== "no-new-privileges" && value !== undefined && value !== "") {
    return undefined;
  }
  const near = suggest(key, SECURITY_OPTS);
  return `${
    quote(opt)
  } is not a security option: use no-new-privileges, seccomp=PROFILE, apparmor=PROFILE, label=... or systempaths=unconfined${
    near !== undefined && near !== key ? ` (did you mean ${near}?)` : ""
  }`;
};

export const devicePermissionsRule: Rule = (p) =>
  /^(?!.*(.).*\1)[rwm]{1,3}$/.test(p)
    ? undefined
    : `${quote(p)} is not a set of device permissions: use letters of "rwm"`;

const ULIMITS = [
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
]; // deno-fmt-ignore

export const ulimitNameRule: Rule = (name) => {
  if (ULIMITS.includes(name)) return undefined;
  const near = suggest(name, ULIMITS);
  return `${quote(name)} is not a ulimit: use one of ${ULIMITS.join(", ")}${near === undefined ? "" : ` (did you mean ${near}?)`}`;
};

/** The kernel parameters Docker lets a container set: those of its own IPC and network namespaces. */
const IPC_SYSCTLS = [
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
];

export const sysctlRule: Rule = (key) =>
  IPC_SYSCTLS.includes(key) || /^fs\.mqueue\.[a-z_]+$/.test(key) || /^net\.[A-Za-z0-9_.\-/]+$/.test(key)
    ? undefined
    : `sysctl ${quote(key)} is not namespaced, so the engine refuses it: only net.*, fs.mqueue.* and ${
      IPC_SYSCTLS.join(", ")
    } can be set per container`;

const TMPFS_OPTION =
  /^(?:size=\d+[kmg%]?|nr_inodes=\d+[kmg]?|mode=[0-7]{3,4}|uid=\d+|gid=\d+|ro|rw|noexec|exec|nosuid|suid|nodev|dev|noatime|atime|nodiratime|diratime|relatime|norelatime|strictatime|nostrictatime|sync|async|mpol=\S+)$/;

export const tmpfsOptionsRule: Rule = (options) => {
  const bad = options === "" ? [] : options.split(",").filter((o) => !TMPFS_OPTION.test(o));
  return bad.length === 0
    ? undefined
    : `${
      bad.map(quote).join(", ")
    }: not a tmpfs option; use size=64m, mode=1777, uid=N, gid=N, noexec, nosuid, nodev, ro, separated by ","`;
};

export const LOG_DRIVERS = [
  "json-file",
  "local",
  "journald",
  "syslog",
  "fluentd",
  "gelf",
  "awslogs",
  "splunk",
  "gcplogs",
  "logentries",
  "etwlogs",
  "none",
]; // deno-fmt-ignore

/** The default rotation of the json-file driver: without it, a chatty container fills the disk (moby/moby#8911). */
export const DEFAULT_LOG_ROTATION: Readonly<Record<string, string>> = { "max-size": "10m", "max-file": "3" };

export const logDriverRule: Rule = (driver) => {
  if (driver === "" || LOG_DRIVERS.includes(driver)) return undefined;
  const near = suggest(driver, LOG_DRIVERS);
  return `${quote(driver)} is not a logging driver: use one of ${LOG_DRIVERS.join(", ")}${
    near === undefined ? "" : ` (did you mean ${near}?)`
  }`;
};

const FILE_LOG_OPTIONS = [
  "max-size",
  "max-file",
  "compress",
  "labels",
  "labels-regex",
  "env",
  "env-regex",
  "tag",
  "mode",
  "max-buffer-size",
];

/** Options of the file drivers (json-file, local), whose names and values berth can check. */
export const fileLogOptionRule: Rule = (key) => {
  if (FILE_LOG_OPTIONS.includes(key)) return undefined;
  const near = suggest(key, FILE_LOG_OPTIONS);
  return `${quote(key)} is not an option of the json-file and local drivers${
    near === undefined ? "" : `; did you mean ${near}?`
  }`;
};
