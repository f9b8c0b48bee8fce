/**
 * The `--progress` renderers, fed events and pull messages as an apply sends them
 * (the real thing under a pseudo-terminal is in tests/integration/cli-progress.test.ts).
 */
import { describe, expect, test } from "../support/harness.ts";
import type { PlannedChange } from "../../engine/plan.ts";
import { styleFor } from "../../cli/output.ts";
import { defaultProgressMode, progressFor } from "../../cli/progress.ts";

const plain = styleFor({}, {});
const change = (name: string): PlannedChange => ({
  name,
  action: "create",
  host: "node1 (10.0.0.11)",
  reasons: [],
  diff: [],
  files: [],
  directories: [],
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const downloading = (current: number) => ({
  status: "Downloading",
  id: "layer1",
  progressDetail: { current, total: 4_000_000 },
});

describe("--progress", () => {
  test("default: tty on a terminal, plain otherwise", () => {
    expect(defaultProgressMode({ isTTY: true })).toBe("tty");
    expect(defaultProgressMode({})).toBe("plain");
  });

  test("plain: a line as a change begins, still-working lines, pull progress, a line with its time at the end", async () => {
    let out = "";
    const progress = progressFor("plain", (s) => (out += s), plain, { stillEveryMs: 100, pullEveryMs: 0 });
    const web = change("web");
    progress.event({ type: "begin", change: web });
    progress.pull("node1 (10.0.0.11)", "busybox:big", downloading(1_500_000));
    await sleep(450);
    progress.event({ type: "done", change: web, durationMs: 450 });
    progress.stop();
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toBe("    web create on node1 (10.0.0.11) ...");
    expect(lines[1]).toBe('    pulling image "busybox:big" on host node1 (10.0.0.11): 1.5 of 4.0 MB downloaded');
    // A line per 0.1 s step reached (a busy machine may skip one: the next line says the time reached).
    const still = lines.filter((l) => l.startsWith("    web create on node1 (10.0.0.11): still working after "))
      .map((l) => Number(/after ([\d.]+)s$/.exec(l)?.[1]));
    expect(still.length).toBeGreaterThan(0);
    expect(still).toEqual([...new Set(still)].sort((a, b) => a - b));
    expect(still.filter((s) => Math.abs(s * 10 - Math.round(s * 10)) > 1e-9)).toEqual([]);
    expect(lines.at(-1)).toBe("  + web created on node1 (10.0.0.11) (0.5s)");
    expect(out).not.toContain("\r");
  });

  test("plain: a change that ended says nothing more, though its events carry copies of it (as the CLI sends them)", async () => {
    let out = "";
    const progress = progressFor("plain", (s) => (out += s), plain, { stillEveryMs: 100 });
    progress.event({ type: "begin", change: change("web") });
    progress.event({ type: "begin", change: change("db") });
    progress.event({ type: "done", change: change("web"), durationMs: 10 });
    await sleep(350);
    progress.event({ type: "done", change: change("db"), durationMs: 360 });
    progress.stop();
    expect(out).toContain("    db create on node1 (10.0.0.11): still working after ");
    expect(out).not.toContain("web create on node1 (10.0.0.11): still working");
  });

  test("tty: a status line with what is in flight and its pull, redrawn in place, gone before other lines", async () => {
    let out = "";
    const progress = progressFor("tty", (s) => (out += s), plain, { columns: 200 });
    const web = change("web");
    progress.event({ type: "begin", change: web });
    progress.pull("node1", "busybox:big", downloading(0));
    await sleep(1100);
    progress.pull("node1", "busybox:big", downloading(2_000_000));
    // A gate event comes while the change is in flight: it stays on the status line.
    progress.event({ type: "gate-waiting", change: web, gate: "running for 0.25s" });
    await sleep(1500);
    expect(out).toMatch(/1 in progress: web create \d+s \| pulling 2\.0 of 4\.0 MB downloaded: busybox:big/);
    progress.clear();
    expect(out.endsWith("\r\x1b[2K")).toBe(true);
    progress.event({ type: "done", change: web, durationMs: 2600 });
    progress.stop();
    expect(out.endsWith("  + web created on node1 (10.0.0.11) (2.6s)\n")).toBe(true);
  });

  test("tty: images pulled first, before any change begins, show their progress on the status line", async () => {
    let out = "";
    const progress = progressFor("tty", (s) => (out += s), plain, { columns: 200 });
    progress.pull("node1", "busybox:big", downloading(0));
    await sleep(1100);
    progress.pull("node1", "busybox:big", downloading(2_000_000));
    await sleep(1100);
    progress.stop();
    expect(out).toContain("  pulling 2.0 of 4.0 MB downloaded: busybox:big");
    expect(out).not.toContain("in progress");
  });

  test("quiet: failures only", () => {
    let out = "";
    const progress = progressFor("quiet", (s) => (out += s), plain);
    const web = change("web");
    progress.event({ type: "begin", change: web });
    progress.pull("node1", "busybox:big", downloading(0));
    progress.event({ type: "done", change: web, durationMs: 10 });
    expect(out).toBe("");
    const error = Object.assign(new Error("no space left"), { code: "RUNTIME" }) as never;
    progress.event({ type: "failed", change: change("db"), durationMs: 10, error });
    progress.stop();
    expect(out).toBe("  ! db create on node1 (10.0.0.11) failed (0.0s): no space left\n");
  });
});
