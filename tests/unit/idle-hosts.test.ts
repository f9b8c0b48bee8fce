/**
 * engine/idle-hosts.ts: the hosts an apply leaves alone (their connections
 * are closed before its steps) are exactly those no working change names,
 * by its recorded host or its desired one.
 */
import { describe, expect, test } from "../support/harness.ts";
import { idleHosts } from "../../engine/idle-hosts.ts";
import type { ContainersState, Host } from "../../core/model.ts";
import type { Plan, PlannedChange } from "../../engine/plan.ts";

const ssh = (address: string): Host => ({ sshConfig: { address } });
const entry = (name: string, host: Host) => ({ container: { config: { name, image: "busybox" } }, host });
const change = (name: string, action: PlannedChange["action"]) =>
  ({ name, action, host: "", reasons: [], diff: [], files: [], directories: [] }) as PlannedChange;
const planOf = (changes: PlannedChange[], extra: Partial<Plan> = {}): Plan =>
  ({ changes, summary: {}, empty: false, ...extra }) as Plan;
const addresses = (hosts: Host[]) => hosts.map((h) => h.sshConfig?.address).sort();

describe("idleHosts()", () => {
  const previous: ContainersState = { a: entry("a", ssh("h1")), b: entry("b", ssh("h2")), m: entry("m", ssh("h3")) };
  const desired: ContainersState = { ...previous, m: entry("m", ssh("h4")), n: entry("n", ssh("h5")) };

  test("hosts with only nothing, forget or blocked changes are idle; a move keeps both its hosts", () => {
    const plan = planOf([
      change("a", "recreate"),
      change("b", "nothing"),
      change("m", "recreate"),
      change("n", "blocked"),
    ]);
    expect(addresses(idleHosts(plan, previous, desired))).toEqual(["h2", "h5"]);
    expect(addresses(idleHosts(planOf([change("b", "forget")]), previous, desired))).toEqual(
      ["h1", "h2", "h3", "h4", "h5"],
    );
  });

  test("none when the plan removes volumes or networks (they are on hosts too)", () => {
    const plan = planOf([change("a", "nothing")], { volumes: [{ name: "v" }] } as Partial<Plan>);
    expect(idleHosts(plan, previous, desired)).toEqual([]);
  });
});
