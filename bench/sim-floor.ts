/**
 * The floor against the simulated fleet (adapted from the shared scale-sim
 * reference's floor-noop): per host one ssh2 connection and one
 * `direct-streamlocal` channel to the engine, one list request of berth's
 * containers, each compared with the wanted fleet by its config-hash label
 * and state; a container that differs is removed, created and started over
 * the same channel; the host's files (when the fleet has some) read over
 * SFTP on the same connection and compared. P hosts at once. With the fleet the simulator started
 * with it is the no-op check; with the changed fleet, the apply.
 *
 * Usage: node sim-floor.mjs WANTED_FLEET.json [--par 256] [--port 2222] [--net 127.77]
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import type { Duplex } from "node:stream";
import { parseArgs } from "node:util";
import ssh2 from "ssh2";
import { simAddress, type SimFleet } from "./sim-net.ts";

const HASH = "berth.config-hash";

function connect(host: string, port: number): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once("ready", () => resolve(c));
    c.once("error", reject);
    c.connect({ host, port, username: "root", password: "sim", hostVerifier: () => true, readyTimeout: 120_000 });
  });
}

/** One kept-alive HTTP connection over one channel of `client`. */
function engine(client: ssh2.Client) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: unknown }).createConnection = (
    _o: unknown,
    cb: (err: Error | null, s?: Duplex) => void,
  ) => {
    client.openssh_forwardOutStreamLocal("/var/run/docker.sock", (err, stream) => {
      const self = () => stream;
      cb(
        err ?? null,
        Object.assign(stream, { setKeepAlive: self, setNoDelay: self, setTimeout: self, ref: self, unref: self }),
      );
    });
  };
  const call = (method: string, path: string, body?: unknown): Promise<unknown> => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request({
        agent,
        method,
        path: `/v1.41${path}`,
        headers: { Host: "docker", ...(data && { "Content-Type": "application/json", "Content-Length": data.length }) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          else resolve(text === "" ? null : JSON.parse(text));
        });
      });
      req.on("error", reject);
      req.end(data);
    });
  };
  return { call, close: () => agent.destroy() };
}

interface Listed {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

/** Reads `paths` over one SFTP session of `client` and throws on the first that differs. */
function checkFiles(client: ssh2.Client, files: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    client.sftp((err, sftp) => {
      if (err) return reject(err);
      Promise.all(
        Object.entries(files).map(([path, text]) =>
          new Promise<void>((ok, fail) =>
            sftp.readFile(
              path,
              (e, got) => (e ? fail(e) : got.toString() === text ? ok() : fail(new Error(`${path} differs`))),
            )
          )
        ),
      ).then(() => {
        sftp.end();
        resolve();
      }, reject);
    });
  });
}

async function onHost(
  want: SimFleet["hosts"][number],
  files: Record<string, string> | undefined,
  image: string,
  address: string,
  port: number,
): Promise<void> {
  const client = await connect(address, port);
  const e = engine(client);
  try {
    const read = files === undefined ? undefined : checkFiles(client, files);
    const filters = encodeURIComponent(JSON.stringify({ label: ["berth.managed=true"] }));
    const list = await e.call("GET", `/containers/json?all=1&filters=${filters}`) as Listed[];
    const byName = new Map(list.map((c) => [(c.Names[0] ?? "").slice(1), c]));
    for (const c of want) {
      const cur = byName.get(c.name);
      if (cur?.Labels[HASH] === c.labels[HASH] && cur?.State === "running") continue;
      if (cur !== undefined) await e.call("DELETE", `/containers/${cur.Id}?force=true`);
      const { Id } = await e.call("POST", `/containers/create?name=${c.name}`, {
        Image: image,
        Cmd: ["sleep", "100000"],
        Env: c.env,
        Labels: c.labels,
        HostConfig: { NetworkMode: "host" },
      }) as { Id: string };
      await e.call("POST", `/containers/${Id}/start`);
    }
    await read;
  } finally {
    e.close();
    client.end();
  }
}

async function main(): Promise<void> {
  const { values: o, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      par: { type: "string", default: "256" },
      port: { type: "string", default: "2222" },
      net: { type: "string", default: "127.77" },
    },
  });
  if (positionals[0] === undefined) throw new Error("usage: sim-floor WANTED_FLEET.json [--par P]");
  const fleet = JSON.parse(readFileSync(positionals[0], "utf8")) as SimFleet;
  const par = Number(o.par);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(par, fleet.hosts.length) }, async () => {
    while (next < fleet.hosts.length) {
      const i = next++;
      await onHost(fleet.hosts[i] ?? [], fleet.files?.[i], fleet.image, simAddress(o.net as string, i), Number(o.port));
    }
  }));
}

await main();
