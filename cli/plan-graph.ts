/**
 * `berth plan --graph dot|mermaid`: the plan as a graph of hosts and the
 * changes on each, for Graphviz (`dot -Tsvg`) or Mermaid (Markdown, GitHub).
 * A container that moves has a dashed edge from the host it leaves.
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import { InvalidArgumentError } from "commander";
import { BerthError } from "../core/errors.ts";
import type { Action, Plan } from "../engine/plan.ts";
import { suggest } from "../core/suggest.ts";
import { SYMBOL } from "./output.ts";

/** The graph formats `--graph` writes. */
export const GRAPH_FORMATS = ["dot", "mermaid"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** Commander parser of `--graph FORMAT`. */
export function parseGraphFormat(text: string): GraphFormat {
  if ((GRAPH_FORMATS as readonly string[]).includes(text)) return text as GraphFormat;
  const close = suggest(text, GRAPH_FORMATS);
  throw new InvalidArgumentError(
    `expected dot or mermaid${close === undefined ? "" : ` (did you mean "${close}"?)`}`,
  );
}

/** Graphviz colours by action: additions green, removals and blocks red, the rest amber. */
function colourOf(action: Action): string {
  if (action === "create" || action === "start") return "darkgreen";
  if (action === "remove" || action === "forget" || action === "blocked") return "red3";
  return "darkorange3";
}

interface Node {
  id: string;
  label: string;
  action: Action;
  host: string;
  fromHost?: string;
}

/** Hosts in order of first appearance, and one node per change (unchanged containers left out). */
function graphOf(plan: Plan): { hosts: Map<string, string>; nodes: Node[] } {
  const hosts = new Map<string, string>();
  const hostId = (host: string) => {
    if (!hosts.has(host)) hosts.set(host, `h${hosts.size}`);
    return hosts.get(host) as string;
  };
  const nodes: Node[] = [];
  for (const c of plan.changes) {
    if (c.action === "nothing") continue;
    hostId(c.host);
    if (c.fromHost !== undefined) hostId(c.fromHost);
    nodes.push({
      id: `c${nodes.length}`,
      label: `${SYMBOL[c.action]} ${c.name}: ${c.action}`,
      action: c.action,
      host: c.host,
      ...(c.fromHost === undefined ? {} : { fromHost: c.fromHost }),
    });
  }
  for (const v of plan.volumes ?? []) {
    hostId(v.host);
    nodes.push({ id: `c${nodes.length}`, label: `- volume ${v.name}: remove`, action: "remove", host: v.host });
  }
  return { hosts, nodes };
}

/**
 * The plan as a graph. Hosts are shown as given in the plan (pass it through
 * `displayPlan` for `node1 (10.0.0.11)`).
 *
 * @example
 * ```ts
 * import { planGraph } from "./plan-graph.ts";
 * const plan = { changes: [{ name: "web", action: "create" as const, host: "node1", reasons: [], diff: [], files: [], directories: [] }], summary: { create: 1 }, empty: false };
 * if (!planGraph(plan, "mermaid").includes('h0["node1"] --> c0["+ web: create"]')) throw new Error("wrong");
 * ```
 */
export function planGraph(plan: Plan, format: GraphFormat): string {
  const { hosts, nodes } = graphOf(plan);
  return format === "dot" ? dot(hosts, nodes) : mermaid(hosts, nodes);
}

function dot(hosts: Map<string, string>, nodes: Node[]): string {
  const q = (s: string) => `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  const lines = ["digraph plan {", "  rankdir=LR;", "  node [fontname=monospace];"];
  for (const [host, id] of hosts) lines.push(`  ${id} [label=${q(host)}, shape=box, style=bold];`);
  for (const n of nodes) {
    const colour = colourOf(n.action);
    lines.push(`  ${n.id} [label=${q(n.label)}, shape=ellipse, color=${colour}, fontcolor=${colour}];`);
    lines.push(`  ${hosts.get(n.host)} -> ${n.id};`);
    if (n.fromHost !== undefined) lines.push(`  ${hosts.get(n.fromHost)} -> ${n.id} [style=dashed, label="moves"];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

function mermaid(hosts: Map<string, string>, nodes: Node[]): string {
  // Mermaid has no escape for `"` inside a quoted label but its entity.
  const q = (s: string) => `"${s.replaceAll('"', "#quot;")}"`;
  const lines = ["flowchart LR"];
  const declared = new Set<string>();
  const ref = (host: string) => {
    const id = hosts.get(host) as string;
    if (declared.has(id)) return id;
    declared.add(id);
    return `${id}[${q(host)}]`;
  };
  for (const n of nodes) {
    lines.push(`  ${ref(n.host)} --> ${n.id}[${q(n.label)}]:::${n.action.replace("-", "_")}`);
    if (n.fromHost !== undefined) lines.push(`  ${ref(n.fromHost)} -. moves .-> ${n.id}`);
  }
  const used = new Set(nodes.map((n) => n.action));
  for (const action of used) {
    lines.push(`  classDef ${action.replace("-", "_")} stroke:${MERMAID_COLOUR[colourOf(action)]},stroke-width:2px;`);
  }
  return `${lines.join("\n")}\n`;
}

const MERMAID_COLOUR: Record<string, string> = { darkgreen: "#1a7f37", red3: "#cf222e", darkorange3: "#bc4c00" };

/** `--graph` / `--graph-file` of `berth plan`. */
export interface GraphOptions {
  graph?: GraphFormat;
  /** Write the graph here (the text plan still goes to stdout); else the graph replaces it on stdout. */
  graphFile?: string;
  json?: boolean;
}

/** Combinations that cannot work, refused before anything runs. */
export function checkGraphOptions(opts: GraphOptions): void {
  if (opts.graphFile !== undefined && opts.graph === undefined) {
    throw new BerthError("VALIDATION", "--graph-file needs --graph dot or --graph mermaid to say the format");
  }
  if (opts.graph !== undefined && opts.graphFile === undefined && opts.json === true) {
    throw new BerthError("VALIDATION", "--graph and --json both write to stdout: add --graph-file FILE for the graph");
  }
}

/**
 * Writes the graph of `plan` (hosts already shown by name) where the options say.
 *
 * @returns True when the graph went to stdout, in place of the text plan.
 */
export async function writePlanGraph(plan: Plan, opts: GraphOptions, file: string | undefined, out: {
  write(s: string): unknown;
}): Promise<boolean> {
  if (opts.graph === undefined) return false;
  const graph = planGraph(plan, opts.graph);
  if (file === undefined) {
    out.write(graph);
    return true;
  }
  try {
    await writeFile(file, graph);
  } catch (err) {
    throw new BerthError("VALIDATION", `Cannot write --graph-file ${opts.graphFile}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return false;
}
