/**
 * The bench workload as data, shared by the harness, the floor and the
 * generators of every tool's input: per host one config file and K
 * containers that mount its directory.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** One host of the bench fleet and its config file. */
export interface BenchHost {
  name: string;
  address: string;
  /** Directory of the config file on the host (bind-mounted into every container of the host). */
  configDir: string;
  /** `configDir/app.conf`. */
  configFile: string;
  /** The file's content. */
  config: string;
}

/** Everything every tool needs to make the hosts match. */
export interface Workload {
  image: string;
  command: string[];
  perHost: number;
  privateKeyPath: string;
  knownHostsFile: string;
  hosts: BenchHost[];
  /** Container name -> value of BENCH_VALUE when not the default "v1". */
  envOverrides: Record<string, string>;
}

/** One container of the workload. */
export interface BenchContainer {
  name: string;
  host: BenchHost;
  /** Value of the BENCH_VALUE variable. */
  env: string;
  configDir: string;
}

/** Where containers mount their host's config directory. */
export const MOUNT_TARGET = "/etc/bench";

/** The containers of one host, in order. */
export function containersOf(w: Workload, host: BenchHost): BenchContainer[] {
  return Array.from({ length: w.perHost }, (_, i) => {
    const name = `bench-${host.name}-${i + 1}`;
    return { name, host, env: w.envOverrides[name] ?? "v1", configDir: host.configDir };
  });
}

/** Every container of the workload, host by host. */
export function allContainers(w: Workload): BenchContainer[] {
  return w.hosts.flatMap((h) => containersOf(w, h));
}

/** The engine create body both floors send for `c` (labels apart), and a short hash of it for their no-op check. */
export function floorSpec(w: Workload, c: BenchContainer): { spec: Record<string, unknown>; hash: string } {
  const spec = {
    Image: w.image,
    Cmd: w.command,
    Env: [`BENCH_VALUE=${c.env}`],
    HostConfig: {
      Mounts: [{ Type: "bind", Source: c.configDir, Target: MOUNT_TARGET }],
      NetworkMode: "host",
      Init: true,
      RestartPolicy: { Name: "unless-stopped" },
    },
  };
  return { spec, hash: createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16) };
}
