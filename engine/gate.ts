/**
 * Health gates: after apply starts a container, its step waits here until
 * the container proves it is up (its gate passes) or throws a BerthError
 * with the container's last log lines (secrets masked). What a container's
 * gate is follows from its config (`gateOf`); how each kind is checked is
 * below, through the runtime seam only.
 *
 * @module
 */
import { BerthError } from "../core/errors.ts";
import type { ContainerConfig, HostConfiguredContainer } from "../core/model.ts";
import { secretValues } from "../core/sensitive.ts";
import type { Runtime } from "../runtimes/runtime.ts";
import type { PlannedChange } from "./plan.ts";
import type { Session } from "./session.ts";

/** What a started container must show before its change counts as done. */
export type Gate =
  | { kind: "none" }
  /** Running, and not restarted, for `seconds`. */
  | { kind: "running"; seconds: number };

/** The container's last log lines shown in a gate failure. */
const LOG_LINES = 20;
/** How often the gate looks at the container. */
const POLL_MS = 200;

/**
 * The gate when the config declares none: running, and not restarted, for
 * a quarter of a second. That sees a process that fails at start (the engine
 * restarts it after 100 ms) without slowing every change by much; a service
 * that fails later needs a gate of its own (a healthcheck, a port, longer running).
 */
export const DEFAULT_GATE: Gate = { kind: "running", seconds: 0.25 };

/** The gate of a container config. */
export function gateOf(_config: ContainerConfig): Gate {
  return DEFAULT_GATE;
}

/**
 * The gate in words, as the plan prints it.
 *
 * @example
 * ```ts
 * import { describeGate } from "./gate.ts";
 * if (describeGate({ kind: "running", seconds: 5 }) !== "running 5s") throw new Error("wrong");
 * ```
 */
export function describeGate(gate: Gate): string {
  switch (gate.kind) {
    case "none":
      return "none";
    case "running":
      return `running ${gate.seconds}s`;
  }
}

/** Where the gate is checked. */
export interface GateTarget {
  runtime: Runtime;
  /** The container as desired (its real values: they are what is masked in the logs). */
  want: HostConfiguredContainer;
  /** The started container's id. */
  id: string;
  /** Host label, for messages. */
  host: string;
  signal?: AbortSignal;
}

/** Waits for `gate`; throws a BerthError naming the container, host, gate and its last log lines when it fails. */
export async function waitForGate(gate: Gate, target: GateTarget): Promise<void> {
  if (gate.kind === "none") return;
  const failure = await check(gate, target);
  if (failure === undefined) return;
  const name = target.want.container.config.name;
  const logs = await lastLogs(target);
  throw new BerthError(
    "GATE",
    `container "${name}" on host ${target.host} failed its gate (${describeGate(gate)}): ${failure}${logs}` +
      `\nFix the container (its logs: berth logs ${name}), or change its gate: and apply again`,
    { host: target.host, container: name },
  );
}

/** Why the gate failed, or undefined when it passed. */
async function check(gate: Gate & { kind: "running" }, target: GateTarget): Promise<string | undefined> {
  const first = await target.runtime.inspect(target.id, signal(target));
  if (first === undefined) return "the container is gone";
  const deadline = Date.now() + gate.seconds * 1000;
  for (let seen = first;;) {
    if (seen.status !== "running") return `the container is ${seen.status}${exitNote(seen.exitCode)}`;
    if (seen.restartCount !== first.restartCount || seen.startedAt !== first.startedAt) {
      return "the container restarted";
    }
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())), target.signal);
    const next = await target.runtime.inspect(target.id, signal(target));
    if (next === undefined) return "the container is gone";
    seen = next;
  }
}

function exitNote(code: number | undefined): string {
  return code === undefined ? "" : ` (exit code ${code})`;
}

/** The container's last log lines, secrets masked, as an indented block; empty when there are none or they cannot be read. */
async function lastLogs(target: GateTarget): Promise<string> {
  if (target.runtime.logs === undefined) return "";
  try {
    const { stdout, stderr } = await target.runtime.logs(target.id, { tail: LOG_LINES, ...signal(target) });
    const secrets = secretValues({ [target.want.container.config.name]: target.want }).sort((a, b) =>
      b.length - a.length
    );
    const masked = (text: string) => secrets.reduce((out, secret) => out.split(secret).join("***"), text);
    const lines = masked([stdout, stderr].filter((s) => s !== "").join("\n")).split("\n").filter((l) => l !== "");
    if (lines.length === 0) return "\nIt wrote no logs.";
    return `\nIts last log lines:\n${lines.slice(-LOG_LINES).map((l) => `  ${l}`).join("\n")}`;
  } catch (err) {
    return `\n(its logs could not be read: ${err instanceof Error ? err.message : String(err)})`;
  }
}

function signal(target: GateTarget): { signal?: AbortSignal } {
  return target.signal === undefined ? {} : { signal: target.signal };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** What a gate step tells: waiting, then passed or failed, with the gate in words. */
export type GateEventType = "gate-waiting" | "gate-passed" | "gate-failed";

/**
 * The gate step of apply: waits for the gate of container `id` (just started
 * for change `c`), telling `onEvent` as it goes.
 */
export async function passGate(
  session: Session,
  c: PlannedChange,
  want: HostConfiguredContainer,
  id: string,
  onEvent: (type: GateEventType, gate: string) => void,
): Promise<void> {
  const gate = gateOf(want.container.config);
  if (gate.kind === "none") return;
  const described = describeGate(gate);
  onEvent("gate-waiting", described);
  try {
    await waitForGate(gate, { runtime: await session.runtime(want), want, id, host: c.host });
  } catch (err) {
    onEvent("gate-failed", described);
    throw err;
  }
  onEvent("gate-passed", described);
}
