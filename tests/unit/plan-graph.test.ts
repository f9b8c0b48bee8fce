/**
 * `berth plan --graph dot|mermaid` and what a create shows in the plan: the graph of a plan with several
 * actions on several hosts (each host once, each change linked to its host, a move dashed from the host it
 * leaves, unchanged containers left out), bad --graph values, and the image, ports and mounts of a create.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { planGraph } from "../../cli/plan-graph.ts";
import { formatPlan, styleFor } from "../../cli/output.ts";
import { type Plan, plan as makePlan, type PlannedChange } from "../../engine/plan.ts";
import type { ContainersState } from "../../core/model.ts";

const change = (name: string, action: PlannedChange["action"], host: string, fromHost?: string): PlannedChange => ({
  name,
  action,
  host,
  ...(fromHost === undefined ? {} : { fromHost }),
  reasons: [],
  diff: [],
  files: [],
  directories: [],
});

const PLAN: Plan = {
  changes: [
    change("web", "create", "node1 (10.0.0.11)"),
    change("db", "recreate", "node2 (10.0.0.12)", "node1 (10.0.0.11)"),
    change("cache", "nothing", "node2 (10.0.0.12)"),
    change("old", "remove", "node3 (10.0.0.13)"),
    change("worker", "update-files", "node2 (10.0.0.12)"),
    change('say "hi"', "blocked", "node3 (10.0.0.13)"),
  ],
  volumes: [{ host: "node3 (10.0.0.13)", name: "data", via: "old", warning: "its data is lost" }],
  summary: { create: 1, recreate: 1, remove: 1, "update-files": 1, blocked: 1 },
  empty: false,
};

describe("plan --graph", () => {
  test("dot: one box per host, one node per change linked to its host, a move dashed from the old host", () => {
    expect(planGraph(PLAN, "dot")).toBe(
      [
        "digraph plan {",
        "  rankdir=LR;",
        "  node [fontname=monospace];",
        '  h0 [label="node1 (10.0.0.11)", shape=box, style=bold];',
        '  h1 [label="node2 (10.0.0.12)", shape=box, style=bold];',
        '  h2 [label="node3 (10.0.0.13)", shape=box, style=bold];',
        '  c0 [label="+ web: create", shape=ellipse, color=darkgreen, fontcolor=darkgreen];',
        "  h0 -> c0;",
        '  c1 [label="-/+ db: recreate", shape=ellipse, color=darkorange3, fontcolor=darkorange3];',
        "  h1 -> c1;",
        '  h0 -> c1 [style=dashed, label="moves"];',
        '  c2 [label="- old: remove", shape=ellipse, color=red3, fontcolor=red3];',
        "  h2 -> c2;",
        '  c3 [label="~ worker: update-files", shape=ellipse, color=darkorange3, fontcolor=darkorange3];',
        "  h1 -> c3;",
        '  c4 [label="! say \\"hi\\": blocked", shape=ellipse, color=red3, fontcolor=red3];',
        "  h2 -> c4;",
        '  c5 [label="- volume data: remove", shape=ellipse, color=red3, fontcolor=red3];',
        "  h2 -> c5;",
        "}",
        "",
      ].join("\n"),
    );
  });

  test("mermaid: each host declared once, changes classed by action, quotes as entities", () => {
    const text = planGraph(PLAN, "mermaid");
    expect(text.split("\n").slice(0, 8)).toEqual([
      "flowchart LR",
      '  h0["node1 (10.0.0.11)"] --> c0["+ web: create"]:::create',
      '  h1["node2 (10.0.0.12)"] --> c1["-/+ db: recreate"]:::recreate',
      "  h0 -. moves .-> c1",
      '  h2["node3 (10.0.0.13)"] --> c2["- old: remove"]:::remove',
      '  h1 --> c3["~ worker: update-files"]:::update_files',
      '  h2 --> c4["! say #quot;hi#quot;: blocked"]:::blocked',
      '  h2 --> c5["- volume data: remove"]:::remove',
    ]);
    for (const action of ["create", "recreate", "remove", "update_files", "blocked"]) {
      expect(text).toContain(`  classDef ${action} stroke:`);
    }
    expect(text).not.toContain("cache");
  });

  test("an empty plan is an empty graph", () => {
    const empty: Plan = { changes: [change("cache", "nothing", "node1")], summary: {}, empty: true };
    expect(planGraph(empty, "dot")).toBe("digraph plan {\n  rankdir=LR;\n  node [fontname=monospace];\n}\n");
    expect(planGraph(empty, "mermaid")).toBe("flowchart LR\n");
  });
});

describe("plan --graph on the command line", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-plan-graph-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // The engine socket does not exist: the plan is one blocked entry, enough to see where the graph goes.
  writeFileSync(
    join(dir, "config.yaml"),
    `hosts:\n  node1: { direct: {} }\nruntime:\n  docker: { host: "unix://${dir}/no-engine.sock" }\n` +
      "containers:\n  web: { host: node1, image: busybox:latest }\n",
  );

  test("--graph writes only the graph on stdout; --graph-file writes it there beside the text plan", async () => {
    const run = await runCli(["plan", "--graph", "mermaid"], dir);
    expect(run.code).toBe(1); // blocked
    expect(run.stdout).toBe(
      'flowchart LR\n  h0["node1 (local)"] --> c0["! web: blocked"]:::blocked\n' +
        "  classDef blocked stroke:#cf222e,stroke-width:2px;\n",
    );
    expect(run.stderr).toContain("Plan: 1 blocked.");
    const file = await runCli(["plan", "--graph", "dot", "--graph-file", "plan.dot"], dir);
    expect(file.stdout).toContain("web blocked on node1 (local)");
    expect(readFileSync(join(dir, "plan.dot"), "utf8")).toContain('c0 [label="! web: blocked"');
  });

  test("bad values and combinations are refused with what to do", async () => {
    const bad = await runCli(["plan", "--graph", "dott"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      `option '--graph <format>' argument 'dott' is invalid. expected dot or mermaid (did you mean "dot"?)`,
    );
    const noFormat = await runCli(["plan", "--graph-file", "x.dot"], dir);
    expect(noFormat.stderr).toContain("--graph-file needs --graph dot or --graph mermaid");
    const json = await runCli(["--json", "plan", "--graph", "dot"], dir);
    expect(json.stderr).toContain("--graph and --json both write to stdout: add --graph-file FILE");
    const overwrite = await runCli(["plan", "--graph", "dot", "--graph-file", "config.yaml"], dir);
    expect(overwrite.stderr).toContain('--graph-file "config.yaml" is the config file');
  });
});

describe("a create in the plan", () => {
  test("shows the image, each port and each mount it will have", () => {
    const desired = {
      web: {
        host: { directConfig: {} },
        container: {
          config: {
            name: "web",
            image: "nginx:1.25",
            ports: [{ port: 80, ip: "0.0.0.0" }, { port: 443 }],
            mounts: [{ source: "/srv/web/", target: "/usr/share/nginx/html", readOnly: true }],
          },
        },
      },
    } as ContainersState;
    const text = formatPlan(makePlan(desired, {}, {}), styleFor({ isTTY: false }, {}));
    expect(text.split("\n")).toEqual([
      "  + web create on local",
      "      new in the desired state",
      '      + image: "nginx:1.25"',
      '      + ports[0]: {"port":80,"ip":"0.0.0.0"}',
      '      + ports[1]: {"port":443}',
      '      + mounts[0]: {"source":"/srv/web/","target":"/usr/share/nginx/html","readOnly":true}',
      "Plan: 1 create.",
    ]);
  });
});
