/**
 * The `healthcheck` and `gate` fields of a container config (declared in
 * core/fields.ts through these), their checks, and the effective gate a
 * config asks for: what engine/gate.ts waits for and the plan prints. A gate
 * that can never pass is refused here, naming the field and the fix.
 *
 * @module
 */
import { parseDuration } from "./duration.ts";
import type { FieldDeclaration } from "./fields.ts";
import type { ContainerConfig, GateConfig, Healthcheck } from "./model.ts";
import type { Problem } from "./problem.ts";
import { durationRule } from "./rules.ts";
import {
  at,
  boolean,
  describe,
  type Fields,
  fieldsSchema,
  integer,
  isMapping,
  mapping,
  quote,
  report,
  string,
  withSchema,
} from "./shape.ts";

/** Docker's defaults for a healthcheck's settings. */
export const HEALTHCHECK_DEFAULTS = { interval: "30s", timeout: "30s", retries: 3, startPeriod: "0s" } as const;

/** How long apply waits for a gate when the config does not say. */
export const DEFAULT_GATE_TIMEOUT = "60s";

/** A gate as engine/gate.ts checks it, with its wait in milliseconds. */
export type Gate =
  | { kind: "none" }
  /** Running, and not restarted, for `seconds`. */
  | { kind: "running"; seconds: number }
  | { kind: "healthy"; timeoutMs: number }
  | { kind: "tcp"; port: number; timeoutMs: number };

/**
 * The gate when the config declares none and has no healthcheck: running,
 * and not restarted, for a quarter of a second. That sees a process that
 * fails at start (the engine restarts it after 100 ms) without slowing every
 * change by much; a service that fails later needs a gate of its own.
 */
export const DEFAULT_GATE: Gate = { kind: "running", seconds: 0.25 };

/**
 * The gate a config asks for: its `gate`, else `healthy` when it has a
 * healthcheck, else {@link DEFAULT_GATE}.
 *
 * @example
 * ```ts
 * import { gateOf } from "./gate-fields.ts";
 * const gate = gateOf({ name: "web", image: "nginx", gate: { tcp: 80, timeout: "30s" } });
 * if (gate.kind !== "tcp" || gate.timeoutMs !== 30_000) throw new Error("wrong");
 * ```
 */
export function gateOf(config: ContainerConfig): Gate {
  const gate = config.gate;
  if (gate?.none === true) return { kind: "none" };
  if (gate?.running !== undefined) return { kind: "running", seconds: parseDuration(gate.running) / 1000 };
  const timeoutMs = gateTimeoutMs(config);
  if (gate?.tcp !== undefined) return { kind: "tcp", port: gate.tcp, timeoutMs };
  if (gate?.healthy === true || config.healthcheck !== undefined) return { kind: "healthy", timeoutMs };
  return DEFAULT_GATE;
}

/**
 * The gate in words, as the plan prints it: `healthy within 60s`.
 *
 * @example
 * ```ts
 * import { describeGate } from "./gate-fields.ts";
 * if (describeGate({ kind: "tcp", port: 8080, timeoutMs: 90_000 }) !== "tcp 8080 within 90s") throw new Error("wrong");
 * ```
 */
export function describeGate(gate: Gate): string {
  switch (gate.kind) {
    case "none":
      return "none";
    case "running":
      return `running ${gate.seconds}s`;
    case "healthy":
      return `healthy within ${seconds(gate.timeoutMs)}`;
    case "tcp":
      return `tcp ${gate.port} within ${seconds(gate.timeoutMs)}`;
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/** The healthcheck's settings with Docker's defaults, in milliseconds. */
export function healthcheckTimes(
  check: Healthcheck,
): { intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number } {
  return {
    intervalMs: parseDuration(check.interval ?? HEALTHCHECK_DEFAULTS.interval),
    timeoutMs: parseDuration(check.timeout ?? HEALTHCHECK_DEFAULTS.timeout),
    retries: check.retries ?? HEALTHCHECK_DEFAULTS.retries,
    startPeriodMs: parseDuration(check.startPeriod ?? HEALTHCHECK_DEFAULTS.startPeriod),
  };
}

/** The command in Docker's form: `["CMD", ...]` or `["CMD-SHELL", "..."]`. */
export function healthcheckCommand(test: Healthcheck["test"]): string[] {
  if (typeof test === "string") return ["CMD-SHELL", test];
  if (test[0] === "CMD" || test[0] === "CMD-SHELL") return [...test];
  return ["CMD", ...test];
}

/**
 * The gate's wait: its `timeout`, else 60s, stretched for a healthcheck that
 * cannot report within 60s (its start period plus a check per retry).
 */
function gateTimeoutMs(config: ContainerConfig): number {
  if (config.gate?.timeout !== undefined) return parseDuration(config.gate.timeout);
  const base = parseDuration(DEFAULT_GATE_TIMEOUT);
  if (config.healthcheck === undefined) return base;
  const t = healthcheckTimes(config.healthcheck);
  return Math.max(base, t.startPeriodMs + t.intervalMs * (t.retries + 1));
}

// ---- checks ------------------------------------------------------------------

/** A duration of at least 1 ms (what the engine takes for a healthcheck's times). */
const positiveDuration = string((text) => {
  const message = durationRule(text);
  if (message !== undefined) return message;
  return parseDuration(text) < 1 ? `${quote(text)} is too short: write at least "1ms", such as "10s"` : undefined;
}, { pattern: "^(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h))+$" });

const EXAMPLE_TEST = '["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8080/"]';

const testCheck = withSchema((value, path, problems) => {
  if (typeof value === "string") {
    if (value.trim() === "") {
      report(problems, path, `an empty command can never pass: write one, such as ${EXAMPLE_TEST}`);
    }
    return;
  }
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    report(problems, path, `expected a command: a list of strings or one string, got ${describe(value)}`);
    return;
  }
  const words = value as string[];
  if (words[0] === "NONE") {
    report(problems, path, "NONE turns the image's healthcheck off: remove healthcheck instead (and gate: healthy)");
  } else if (healthcheckCommand(words).slice(1).every((word) => word.trim() === "")) {
    report(problems, path, `an empty command can never pass: write one, such as ${EXAMPLE_TEST}`);
  }
}, {
  anyOf: [{ type: "string", minLength: 1 }, { type: "array", items: { type: "string" } }],
});

const HEALTHCHECK_FIELDS: Fields = {
  test: {
    check: testCheck,
    required: `set the command that exits 0 when healthy, such as ${EXAMPLE_TEST}`,
    description: 'Command: a list (run as is; Docker\'s ["CMD", ...] too) or a string (run by /bin/sh -c).',
  },
  interval: { check: positiveDuration, description: "Time between checks; default 30s." },
  timeout: { check: positiveDuration, description: "Time one check may take; default 30s." },
  retries: {
    check: integer(1, 1000, "a number of retries"),
    description: "Failures in a row that make it unhealthy; default 3.",
  },
  startPeriod: {
    check: string(durationRule, { pattern: "^(?:0|(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h))+)$" }),
    description: "Time after start when failures do not count yet; default 0s.",
  },
};

const GATE_KINDS = ["healthy", "running", "tcp", "none"] as const;

const GATE_FIELDS: Fields = {
  healthy: { check: boolean, description: "Wait until the healthcheck reports healthy." },
  running: { check: positiveDuration, description: "Wait until it has run, not restarted, this long, such as 10s." },
  tcp: {
    check: integer(1, 65535, "a port"),
    description: "Wait until this TCP port accepts connections on 127.0.0.1 as the host sees it.",
  },
  none: { check: boolean, description: "No gate: done once started." },
  timeout: { check: positiveDuration, description: "How long apply waits; default 60s." },
};

function checkGate(value: unknown, path: string, problems: Problem[]): void {
  const before = problems.length;
  mapping(GATE_FIELDS)(value, path, problems);
  if (problems.length > before || !isMapping(value)) return;
  const gate = value as GateConfig;
  const set = GATE_KINDS.filter((kind) => gate[kind] !== undefined);
  if (set.length !== 1) {
    report(
      problems,
      path,
      set.length === 0
        ? "says what to wait for in none of healthy, running, tcp or none: set one, such as `tcp: 8080`"
        : `sets ${set.join(" and ")}: a gate waits for one thing, keep one of them`,
    );
    return;
  }
  if (gate.healthy === false) report(problems, at(path, "healthy"), "false is no gate: write `none: true` instead");
  if (gate.none === false) report(problems, at(path, "none"), "false sets no gate: remove it, or write a gate");
  if (gate.none === true && gate.timeout !== undefined) {
    report(problems, at(path, "timeout"), "a gate of none waits for nothing: remove timeout");
  }
}

/**
 * Cross-field limits: a gate that can never pass within its timeout, and
 * `healthy` without a healthcheck. Called with the whole config.
 */
export function checkGateLimits(config: ContainerConfig, path: string, problems: Problem[]): void {
  const gate = config.gate;
  const where = at(path, "gate");
  if (gate?.healthy === true && config.healthcheck === undefined) {
    report(
      problems,
      at(where, "healthy"),
      "needs a healthcheck: add healthcheck: {test: [...]}, or wait for `running` or `tcp` instead",
    );
  }
  if (gate?.timeout === undefined) return;
  const timeoutMs = parseDuration(gate.timeout);
  if (gate.running !== undefined && parseDuration(gate.running) > timeoutMs) {
    report(
      problems,
      at(where, "timeout"),
      `${gate.timeout} is shorter than running (${gate.running}), so the gate can never pass: raise timeout, or remove it`,
    );
  }
  const kind = gateOf(config).kind;
  if (kind === "healthy" && config.healthcheck !== undefined) {
    const t = healthcheckTimes(config.healthcheck);
    if (timeoutMs < t.intervalMs) {
      report(
        problems,
        at(where, "timeout"),
        `${gate.timeout} is shorter than healthcheck.interval (${
          config.healthcheck.interval ?? `${HEALTHCHECK_DEFAULTS.interval}, the default`
        }): the gate times out before the first check; raise timeout or lower the interval`,
      );
    }
  }
}

/** The `healthcheck` field: part of the container's identity (the engine holds it). */
export const HEALTHCHECK_FIELD: FieldDeclaration<Healthcheck> = {
  description: "Healthcheck run in the container: test, interval, timeout, retries, startPeriod (Docker's).",
  check: mapping(HEALTHCHECK_FIELDS),
  canonical: (check) => {
    const t = healthcheckTimes(check);
    const d = healthcheckTimes({ test: [] });
    return {
      test: healthcheckCommand(check.test),
      // Times in one unit, so "1m" and "60s" are the same container.
      ...(t.intervalMs !== d.intervalMs && { interval: `${t.intervalMs}ms` }),
      ...(t.timeoutMs !== d.timeoutMs && { timeout: `${t.timeoutMs}ms` }),
      ...(t.retries !== d.retries && { retries: t.retries }),
      ...(t.startPeriodMs !== d.startPeriodMs && { startPeriod: `${t.startPeriodMs}ms` }),
    } as Healthcheck;
  },
  serialize: (check) => inOrder(check, HEALTHCHECK_FIELDS),
  identity: true,
  sensitive: "never",
};

/** The `gate` field: how apply waits, not what the container is, so a change recreates nothing. */
export const GATE_FIELD: FieldDeclaration<GateConfig> = {
  description: "What apply waits for after starting it: one of healthy, running, tcp, none; and timeout (60s).",
  check: withSchema(checkGate, () => fieldsSchema(GATE_FIELDS)),
  canonical: (gate) => inOrder(gate, GATE_FIELDS),
  serialize: (gate) => inOrder(gate, GATE_FIELDS),
  identity: false,
  sensitive: "never",
};

function inOrder<T extends object>(value: T, fields: Fields): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) out[key] = field;
  }
  return out as T;
}
