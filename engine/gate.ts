/**
 * Health gates: after apply starts a container, its step waits here until
 * the container proves it is up (its gate passes) or throws a BerthError
 * with the container's last log lines (secrets masked). What a container's
 * gate is follows from its config (`gateOf`); how each kind is checked is
 * below, through the runtime seam only. A stop signal does not cut a gate
 * short (apply stops between steps); its timeout bounds it.
 *
 * @module
 */
import { BerthError } from "../core/errors.ts";
import { describeGate, type Gate, gateOf, healthcheckCommand, healthcheckTimes } from "../core/gate-fields.ts";
import type { HostConfiguredContainer } from "../core/model.ts";
import { secretValues } from "../core/sensitive.ts";
import type { ObservedContainer, Runtime } from "../runtimes/runtime.ts";
import type { PlannedChange } from "./plan.ts";
import type { Session } from "./session.ts";

/** The container's last log lines shown in a gate failure. */
const LOG_LINES = 20;
/** How often the gate looks at the container. */
const POLL_MS = 200;

/** Where the gate is checked. */
export interface GateTarget {
  runtime: Runtime;
  /** The container as desired (its real values: they are what is masked in the logs). */
  want: HostConfiguredContainer;
  /** The started container's id. */
  id: string;
  /** Host label, for messages. */
  host: string;
  /** Opens (and closes) a TCP connection to the port on 127.0.0.1 as the host sees it. */
  connectTcp: (port: number, signal: AbortSignal) => Promise<void>;
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
      "\nFix the container or its gate (more of its output: berth logs), then apply again",
    { host: target.host, container: name },
  );
}

/** A probe's verdict on one look: passed, failed (why), or not yet (undefined). */
type Verdict = { pass: true } | { fail: string } | undefined;

/** Why the gate failed, or undefined when it passed. */
function check(gate: Exclude<Gate, { kind: "none" }>, target: GateTarget): Promise<string | undefined> {
  switch (gate.kind) {
    case "running":
      // Passing means lasting until the end: the watch's own checks are the gate.
      return watch(target, gate.seconds * 1000, () => Promise.resolve(undefined), () => undefined);
    case "tcp":
      return tcpGate(gate.port, gate.timeoutMs, target);
    case "healthy":
      return healthyGate(gate.timeoutMs, target);
  }
}

/**
 * Looks at the container every {@link POLL_MS} (the last interval up to 1.5
 * times that) for `forMs`: it fails as soon as the container is not running
 * or has restarted; else `probe` decides; at the end `atEnd` says why it
 * failed (or undefined: passed).
 */
async function watch(
  target: GateTarget,
  forMs: number,
  probe: (seen: ObservedContainer) => Promise<Verdict>,
  atEnd: () => string | undefined,
): Promise<string | undefined> {
  const first = await target.runtime.inspect(target.id);
  if (first === undefined) return "the container is gone";
  const deadline = Date.now() + forMs;
  for (let seen = first;;) {
    if (seen.status !== "running") return `the container is ${seen.status}${exitNote(seen.exitCode)}`;
    if (seen.restartCount !== first.restartCount || seen.startedAt !== first.startedAt) {
      return "the container restarted";
    }
    const verdict = await probe(seen);
    if (verdict !== undefined) return "fail" in verdict ? verdict.fail : undefined;
    const left = deadline - Date.now();
    if (left <= 0) return atEnd();
    // The next look an interval on, or at the end when that is less than half an interval further: the default
    // gate (0.25 s) looks twice, not three times (a look at 200 ms found a failure 50 ms sooner, for 10 more
    // requests per 10 containers started).
    await sleep(left < POLL_MS * 1.5 ? left : POLL_MS);
    const next = await target.runtime.inspect(target.id);
    if (next === undefined) return "the container is gone";
    seen = next;
  }
}

/** Connects to the port on the host until it accepts a connection. */
function tcpGate(port: number, timeoutMs: number, target: GateTarget): Promise<string | undefined> {
  let last = "no connection tried";
  return watch(target, timeoutMs, async () => {
    try {
      await target.connectTcp(port, AbortSignal.timeout(Math.min(timeoutMs, 5_000)));
      return { pass: true };
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
      return undefined;
    }
  }, () => `port ${port} accepted no connection within ${Math.round(timeoutMs / 1000)}s (last try: ${last})`);
}

/**
 * Waits for the healthcheck: the engine's verdict where it runs the check
 * (Docker), else berth runs the command through the runtime's exec (CRI):
 * right after start, then every interval, `retries` failures in a row after
 * the start period making it unhealthy, as Docker counts them.
 */
function healthyGate(timeoutMs: number, target: GateTarget): Promise<string | undefined> {
  const check = target.want.container.config.healthcheck;
  if (check === undefined) return Promise.resolve("the container has no healthcheck");
  const times = healthcheckTimes(check);
  const command = healthcheckCommand(check.test);
  const argv = command[0] === "CMD-SHELL" ? ["/bin/sh", "-c", command[1] as string] : command.slice(1);
  const started = Date.now();
  let nextRun = started;
  let failures = 0;
  let last = "";
  return watch(
    target,
    timeoutMs,
    async (seen) => {
      if (seen.health !== undefined) {
        last = seen.healthOutput ?? "";
        if (seen.health === "healthy") return { pass: true };
        if (seen.health === "unhealthy") {
          return { fail: `its healthcheck reports unhealthy${lastOutput(last, target)}` };
        }
        return undefined;
      }
      if (target.runtime.exec === undefined || Date.now() < nextRun) return undefined;
      nextRun = Date.now() + times.intervalMs;
      const result = await target.runtime.exec(target.id, argv, { timeoutSeconds: Math.ceil(times.timeoutMs / 1000) })
        .catch((err: unknown) => ({ exitCode: -1, output: err instanceof Error ? err.message : String(err) }));
      if (result.exitCode === 0) return { pass: true };
      last = `exit code ${result.exitCode}${result.output.trim() === "" ? "" : `: ${result.output.trim()}`}`;
      if (Date.now() - started < times.startPeriodMs) return undefined;
      failures++;
      return failures >= times.retries
        ? { fail: `its healthcheck failed ${failures} times in a row${lastOutput(last, target)}` }
        : undefined;
    },
    () =>
      `not healthy within ${Math.round(timeoutMs / 1000)}s${
        last === "" ? " (no healthcheck result yet)" : lastOutput(last, target)
      }`,
  );
}

/** `(last check: ...)`, masked and cut to one line's worth. */
function lastOutput(output: string, target: GateTarget): string {
  const text = mask(output, target).replace(/\s+/g, " ").trim();
  if (text === "") return "";
  return ` (last check: ${text.length > 300 ? `${text.slice(0, 300)}…` : text})`;
}

/** `text` with the container's secret values replaced by `***`. */
function mask(text: string, target: GateTarget): string {
  const secrets = secretValues({ [target.want.container.config.name]: target.want }).sort((a, b) =>
    b.length - a.length
  );
  return secrets.reduce((out, secret) => out.split(secret).join("***"), text);
}

function exitNote(code: number | undefined): string {
  return code === undefined ? "" : ` (exit code ${code})`;
}

/** The container's last log lines, secrets masked, as an indented block; empty when there are none or they cannot be read. */
async function lastLogs(target: GateTarget): Promise<string> {
  if (target.runtime.logs === undefined) return "";
  try {
    const { stdout, stderr } = await target.runtime.logs(target.id, { tail: LOG_LINES });
    const lines = mask([stdout, stderr].filter((s) => s !== "").join("\n"), target).split("\n").filter((l) => l !== "");
    if (lines.length === 0) return "\nIt wrote no logs.";
    return `\nIts last log lines:\n${lines.slice(-LOG_LINES).map((l) => `  ${l}`).join("\n")}`;
  } catch (err) {
    return `\n(its logs could not be read: ${err instanceof Error ? err.message : String(err)})`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
    await waitForGate(gate, {
      runtime: await session.runtime(want),
      want,
      id,
      host: c.host,
      connectTcp: (port, signal) => session.connectTcp(want, port, signal),
    });
  } catch (err) {
    onEvent("gate-failed", described);
    throw err;
  }
  onEvent("gate-passed", described);
}
