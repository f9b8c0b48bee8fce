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

/**
 * Checks the hosts hold exactly the workload's containers, running, with the
 * right env value, and the right config files (or nothing, when `w` is undefined).
 *
 * @throws {Error} Naming the first difference.
 */
export async function verifyFleet(hosts: FleetHost[], w: Workload | undefined): Promise<void> {
  const want = new Map((w === undefined ? [] : allContainers(w)).map((c) => [c.name, c]));
  for (const h of hosts) {
    const list = (await call(h.dockerSocket, "GET", "/containers/json?all=1")) as Listed[];
    const ours = list.filter((c) => c.Names.some((n) => n.startsWith("/bench-")));
    const expected = [...want.values()].filter((c) => c.host.name === h.name);
    if (ours.length !== expected.length) {
      throw new Error(`host ${h.name}: ${ours.length} bench containers, expected ${expected.length}`);
    }
    for (const c of ours) {
      const name = (c.Names[0] ?? "").slice(1);
      const spec = want.get(name);
      if (spec === undefined) throw new Error(`host ${h.name}: unexpected container ${name}`);
      const info = (await call(h.dockerSocket, "GET", `/containers/${c.Id}/json`)) as {
        State: { Running: boolean };
        Config: { Env: string[] };
      };
      if (!info.State.Running) throw new Error(`${name} is not running`);
      if (!info.Config.Env.includes(`BENCH_VALUE=${spec.env}`)) {
        throw new Error(`${name}: env ${info.Config.Env.join(" ")}, expected BENCH_VALUE=${spec.env}`);
      }
    }
    const host = w?.hosts.find((x) => x.name === h.name);
    if (host !== undefined && readFileSync(host.configFile, "utf8") !== host.config) {
      throw new Error(`${host.configFile} has the wrong content`);
    }
  }
}
