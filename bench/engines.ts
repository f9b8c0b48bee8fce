/**
 * The bench fleet's engines reached directly through their sockets (not
 * measured): clean-up between tools and checks that each scenario really
 * left the hosts as it should.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { allContainers, type Workload } from "./workload.ts";

/** What env.json of the bench fleet says about one host. */
export interface FleetHost {
  name: string;
  address: string;
  dockerSocket: string;
}

function call(socket: string, method: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: { Host: "docker" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        if ((res.statusCode ?? 500) >= 400 && res.statusCode !== 404) {
          reject(new Error(`${method} ${path} on ${socket}: ${res.statusCode} ${text}`));
        } else resolve(text === "" ? undefined : JSON.parse(text));
      });
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path} on ${socket}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

interface Listed {
  Id: string;
  Names: string[];
  State: string;
}

/** Every container on every host whose name starts with `bench-` or `floor-`, removed. */
export async function cleanFleet(hosts: FleetHost[]): Promise<number> {
  const removed = await Promise.all(hosts.map(async (h) => {
    const list = (await call(h.dockerSocket, "GET", "/containers/json?all=1")) as Listed[];
    const ours = list.filter((c) => c.Names.some((n) => /^\/(bench-|floor-)/.test(n)));
    await Promise.all(ours.map((c) => call(h.dockerSocket, "DELETE", `/containers/${c.Id}?force=true`)));
    return ours.length;
  }));
  return removed.reduce((a, b) => a + b, 0);
}

/** A container as the engine reports it: its id and when it last started. */
export interface Seen {
  id: string;
  startedAt: string;
}

interface Inspected {
  Id: string;
  State: { Running: boolean; StartedAt: string };
  Config: { Env: string[] };
}

/** Every bench container of the hosts, by name: what a scenario is then checked against. */
export async function snapshot(hosts: FleetHost[]): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  for (const h of hosts) {
    const list = (await call(h.dockerSocket, "GET", "/containers/json?all=1")) as Listed[];
    for (const c of list.filter((x) => x.Names.some((n) => n.startsWith("/bench-")))) {
      const info = (await call(h.dockerSocket, "GET", `/containers/${c.Id}/json`)) as Inspected;
      out.set((c.Names[0] ?? "").slice(1), { id: info.Id, startedAt: info.State.StartedAt });
    }
  }
  return out;
}

/** What the hosts held before a scenario: the workload they matched and the containers seen. */
export interface Before {
  workload: Workload;
  seen: Map<string, Seen>;
}

/**
 * Checks the hosts hold exactly the workload's containers, running, with the
 * right env value, and the right config files (or nothing, when `w` is
 * undefined). With `before`, also that the scenario did what it claims and
 * nothing more: a container whose env changed was recreated (new id), every
 * container of a host whose file changed was restarted (StartedAt moved), and
 * every other container is the same one, not restarted.
 *
 * @throws {Error} Naming the first difference.
 */
export async function verifyFleet(hosts: FleetHost[], w: Workload | undefined, before?: Before): Promise<void> {
  const want = new Map((w === undefined ? [] : allContainers(w)).map((c) => [c.name, c]));
  const envBefore = new Map((before === undefined ? [] : allContainers(before.workload)).map((c) => [c.name, c.env]));
  for (const h of hosts) {
    const list = (await call(h.dockerSocket, "GET", "/containers/json?all=1")) as Listed[];
    const ours = list.filter((c) => c.Names.some((n) => n.startsWith("/bench-")));
    const expected = [...want.values()].filter((c) => c.host.name === h.name);
    if (ours.length !== expected.length) {
      throw new Error(`host ${h.name}: ${ours.length} bench containers, expected ${expected.length}`);
    }
    const host = w?.hosts.find((x) => x.name === h.name);
    const fileChanged = host !== undefined &&
      before?.workload.hosts.find((x) => x.name === h.name)?.config !== host.config;
    for (const c of ours) {
      const name = (c.Names[0] ?? "").slice(1);
      const spec = want.get(name);
      if (spec === undefined) throw new Error(`host ${h.name}: unexpected container ${name}`);
      const info = (await call(h.dockerSocket, "GET", `/containers/${c.Id}/json`)) as Inspected;
      if (!info.State.Running) throw new Error(`${name} is not running`);
      if (!info.Config.Env.includes(`BENCH_VALUE=${spec.env}`)) {
        throw new Error(`${name}: env ${info.Config.Env.join(" ")}, expected BENCH_VALUE=${spec.env}`);
      }
      const was = before?.seen.get(name);
      if (before === undefined || was === undefined) continue;
      if (envBefore.get(name) !== spec.env) {
        if (info.Id === was.id) throw new Error(`${name}: its env changed but it was not recreated`);
      } else if (fileChanged) {
        if (Date.parse(info.State.StartedAt) <= Date.parse(was.startedAt)) {
          throw new Error(`${name}: the config file of ${h.name} changed but ${name} was not restarted`);
        }
      } else if (info.Id !== was.id || info.State.StartedAt !== was.startedAt) {
        throw new Error(`${name}: nothing of it changed, yet it was ${info.Id === was.id ? "restarted" : "recreated"}`);
      }
    }
    if (host !== undefined && readFileSync(host.configFile, "utf8") !== host.config) {
      throw new Error(`${host.configFile} has the wrong content`);
    }
  }
}
