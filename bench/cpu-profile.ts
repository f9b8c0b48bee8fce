/**
 * A summary of a V8 CPU profile (`node --cpu-prof`): the functions that
 * took the most time, by their own time and with what they called, as a
 * markdown table. For the bench's "where the time goes" sections.
 *
 * @module
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `name file:line`, the file shortened to its last two path parts. */
function where(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.split("/").slice(-2).join("/");
  return `${functionName || "(anonymous)"} ${file === "" ? "" : `${file}:${lineNumber + 1}`}`.trim();
}

/** The `top` functions by own time and by total time (own and callees'), in ms, of the profile in `file`. */
export function profileSummary(file: string, top = 12): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const sampled = new Map<number, number>();
  profile.samples.forEach((id, i) => sampled.set(id, (sampled.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (const [id, us] of sampled) {
    all += us;
    const node = byId.get(id) as ProfileNode;
    self.set(where(node), (self.get(where(node)) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = where(byId.get(at) as ProfileNode);
      if (seen.has(name) || name.startsWith("(root)")) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + us);
    }
  }
  const ranked = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  const selfTop = ranked(self);
  const totalTop = ranked(total);
  const rows = selfTop.map(([name, us], i) => {
    const [tName, tUs] = totalTop[i] ?? ["", 0];
    return `| ${(us / 1000).toFixed(0)} | \`${name}\` | ${(tUs / 1000).toFixed(0)} | \`${tName}\` |`;
  });
  return [
    `CPU time sampled: ${(all / 1000).toFixed(0)} ms.`,
    "",
    "| own ms | function (own time) | total ms | function (with what it called) |",
    "| ---: | --- | ---: | --- |",
    ...rows,
  ].join("\n");
}
