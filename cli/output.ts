/**
 * How the CLI shows plans, progress and results to a person. Plain text
 * with colour on a terminal (off with NO_COLOR or when piped).
 *
 * @module
 */
import { DEFAULT_GATE, describeGate } from "../core/gate-fields.ts";
import type { ApplyEvent, ApplyResult } from "../engine/apply.ts";
import type { Action, Plan, PlannedChange } from "../engine/plan.ts";

/** Colour helpers; identity functions when colour is off. */
export interface Style {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

/**
 * Colour on when the stream is a terminal; NO_COLOR (also set by `--no-color`) turns it off, FORCE_COLOR
 * (other than `0`/`false`) turns it on when piped. NO_COLOR wins when both are set.
 */
export function styleFor(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): Style {
  const force = env.FORCE_COLOR;
  const forced = force === undefined ? undefined : !["0", "false"].includes(force.toLowerCase());
  const on = (env.NO_COLOR ?? "") === "" && (forced ?? stream.isTTY === true);
  const wrap = (code: number, reset: number) => (s: string) => on ? `\x1b[${code}m${s}\x1b[${reset}m` : s;
  return {
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
    bold: wrap(1, 22),
    dim: wrap(2, 22),
  };
}

const SYMBOL: Record<Action, string> = {
  create: "+",
  recreate: "-/+",
  update: "~",
  "update-files": "~",
  start: ">",
  remove: "-",
  forget: "x",
  blocked: "!",
  nothing: "=",
};

function colourOf(style: Style, action: Action): (s: string) => string {
  if (action === "create" || action === "start") return style.green;
  if (action === "remove" || action === "forget" || action === "blocked") return style.red;
  return style.yellow;
}

/** The plan, one block per container that changes, then a count line. */
export function formatPlan(plan: Plan, style: Style): string {
  const lines: string[] = [];
  for (const c of plan.changes) {
    if (c.action === "nothing") continue;
    const colour = colourOf(style, c.action);
    const where = c.fromHost === undefined ? `on ${c.host}` : `from ${c.fromHost} to ${c.host}`;
    lines.push(colour(`${SYMBOL[c.action].padStart(3)} ${style.bold(c.name)} ${c.action} ${where}${notes(c)}`));
    for (const reason of c.reasons) lines.push(style.dim(`      ${reason}`));
    for (const d of c.diff) {
      if (d.sensitive) {
        const what = d.op === "~"
          ? "(sensitive value changed)"
          : d.op === "+"
          ? "(sensitive value)"
          : "(sensitive value removed)";
        lines.push(
          (d.op === "+" ? style.green : d.op === "-" ? style.red : style.yellow)(`      ${d.op} ${d.path}: ${what}`),
        );
      } else if (d.op === "+") lines.push(style.green(`      + ${d.path}: ${d.after ?? ""}`));
      else if (d.op === "-") lines.push(style.red(`      - ${d.path}: ${d.before ?? ""}`));
      else lines.push(style.yellow(`      ~ ${d.path}: ${d.before ?? ""} -> ${d.after ?? ""}`));
    }
  }
  const objects = [["volume", plan.volumes ?? []], ["network", plan.networks ?? []]] as const;
  for (const [kind, removals] of objects) {
    for (const v of removals) {
      lines.push(
        colourOf(style, "remove")(
          `${SYMBOL.remove.padStart(3)} ${style.bold(`${kind} ${v.name}`)} remove on ${v.host}`,
        ),
      );
      lines.push(style.yellow(`      warning: ${v.warning}`));
    }
  }
  const removed = objects.flatMap(([kind, removals]) =>
    removals.length === 0 ? [] : [`${removals.length} ${kind} remove`]
  );
  lines.push(
    plan.empty
      ? "No changes: the hosts match the desired state."
      : `Plan: ${[countLine(plan.summary), ...removed].filter((p) => p !== "").join(", ")}.`,
  );
  return lines.join("\n");
}

/**
 * What the change line adds in brackets: ` (gate: healthy within 60s)`, or
 * nothing. The default gate, which every container without one of its own
 * has, is left out here (`--json` has it).
 */
function notes(c: PlannedChange): string {
  const gate = c.gate === undefined || c.gate === describeGate(DEFAULT_GATE) ? undefined : c.gate;
  const parts = [...(gate === undefined ? [] : [`gate: ${gate}`])];
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

/** `2 create, 1 remove` from a summary. */
export function countLine(summary: Partial<Record<Action, number>>): string {
  return Object.entries(summary).map(([action, n]) => `${n} ${action}`).join(", ");
}

/** One line per finished change: `+ etcd created on 10.0.0.2 (0.4s)`. */
export function formatEvent(event: ApplyEvent, style: Style): string | undefined {
  const c: PlannedChange = event.change;
  const took = event.durationMs === undefined ? "" : ` (${(event.durationMs / 1000).toFixed(1)}s)`;
  switch (event.type) {
    case "begin":
      return undefined;
    case "done":
      return colourOf(style, c.action)(
        `${SYMBOL[c.action].padStart(3)} ${c.name} ${PAST[c.action]} on ${c.host}${took}`,
      );
    case "failed":
      return style.red(
        `  ! ${c.name} ${c.action} on ${c.host} failed${took}: ${event.error?.message ?? "unknown error"}`,
      );
    case "skipped":
      return style.dim(`  . ${c.name} ${c.action} on ${c.host} skipped (interrupted)`);
    case "gate-waiting": // the default gate is too short to mention
      return event.gate === describeGate(DEFAULT_GATE)
        ? undefined
        : style.dim(`    ${c.name} on ${c.host}: waiting for its gate (${event.gate})`);
    case "gate-passed":
    case "gate-failed": // the change's failed line says why
      return undefined;
  }
}

const PAST: Record<Action, string> = {
  create: "created",
  recreate: "recreated",
  update: "updated in place",
  "update-files": "updated",
  start: "started",
  remove: "removed",
  forget: "forgotten",
  blocked: "blocked",
  nothing: "unchanged",
};

/** `3 created, 1 recreated, 2 removed in 4.2s` (+ failures). */
export function formatSummary(result: ApplyResult, seconds: number, style: Style): string {
  const done = new Map<string, number>();
  for (const r of result.results) if (r.ok) done.set(PAST[r.action], (done.get(PAST[r.action]) ?? 0) + 1);
  const parts = [...done.entries()].map(([what, n]) => `${n} ${what}`);
  const text = `${parts.length === 0 ? "Nothing changed" : parts.join(", ")} in ${seconds.toFixed(1)}s`;
  if (result.failed === 0) return style.green(`${text}.`);
  return style.red(`${text}; ${result.failed} failed${result.interrupted ? " or skipped (interrupted)" : ""}.`);
}

/**
 * Per host, what went through and what did not, with the first error: shown
 * when an apply did not fully succeed, so an operator sees which hosts need care.
 */
export function formatHostSummary(plan: Plan, result: ApplyResult, style: Style): string {
  const hosts = new Map<string, { ok: number; failed: number; blocked: number; first?: string }>();
  const entry = (host: string) => {
    let e = hosts.get(host);
    if (e === undefined) hosts.set(host, e = { ok: 0, failed: 0, blocked: 0 });
    return e;
  };
  for (const r of result.results) {
    const e = entry(r.host);
    if (r.ok) e.ok++;
    else {
      e.failed++;
      e.first ??= r.error?.message ?? "skipped (interrupted)";
    }
  }
  for (const c of plan.changes) {
    if (c.action !== "blocked") continue;
    const e = entry(c.host);
    e.blocked++;
    e.first ??= c.reasons[0] ?? "blocked";
  }
  const lines = [...hosts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([host, e]) => {
    const counts = [
      e.ok > 0 ? `${e.ok} done` : "",
      e.failed > 0 ? `${e.failed} failed` : "",
      e.blocked > 0 ? `${e.blocked} blocked` : "",
    ].filter(Boolean).join(", ");
    const text = `  ${host}: ${counts}${e.first === undefined ? "" : `: ${e.first}`}`;
    return e.failed + e.blocked > 0 ? style.red(text) : style.green(text);
  });
  return ["Per host:", ...lines].join("\n");
}

/** A fixed-width table. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
