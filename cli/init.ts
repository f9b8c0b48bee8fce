/**
 * `berth init`: a commented starter config.yaml that passes `berth validate`,
 * with the `yaml-language-server` line that points editors at the schema.
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { BerthError } from "../core/errors.ts";
import { VERSION } from "../version.ts";
import type { CliIO } from "./io.ts";

/** Where editors fetch the config's JSON Schema: the copy shipped in this version's npm package. */
export const SCHEMA_URL = `https://unpkg.com/berthctl@${VERSION}/schema/config.schema.json`;

/** The starter config: one container on this machine's Docker engine, the rest as comments. */
export function starterConfig(): string {
  return `# yaml-language-server: $schema=${SCHEMA_URL}
# berth config: hosts once, containers by name. Full reference: core/config.ts in the package.
#   berth validate   # check this file
#   berth plan       # what would change (changes nothing)
#   berth apply      # make the hosts match (asks first; --yes to skip)

# Defaults for every ssh host (uncomment when you add one):
# ssh:
#   user: root
#   privateKeyPath: ~/.ssh/id_ed25519
#   passphrase: \${env:BERTH_KEY_PASSPHRASE}   # secrets come from the environment, never from the state

hosts:
  local: { direct: {} }                      # this machine, through DOCKER_HOST or /var/run/docker.sock
  # node1: { ssh: { address: 10.0.0.11 } }   # a machine reached over SSH

# Shared fragments: top-level x-* keys are ignored, YAML anchors and merge keys reuse them.
x-defaults: &defaults
  host: local
  restartPolicy: unless-stopped

containers:
  hello:
    <<: *defaults
    image: busybox:latest
    args: [sh, -c, "echo hello from berth; while :; do sleep 3600; done"]
    # ports: [ { port: 8080, ip: 127.0.0.1 } ]
    # mounts: [ { source: /srv/hello/, target: /data } ]   # a source ending in "/" is created when missing
    # env: { LEVEL: info }
`;
}

/**
 * Writes the starter config to `file` (relative to the working directory).
 *
 * @throws {BerthError} `VALIDATION` when the file exists and `force` is not set.
 */
export async function initCommand(io: CliIO, file: string, force: boolean): Promise<number> {
  try {
    await writeFile(resolve(io.cwd, file), starterConfig(), { flag: force ? "w" : "wx", mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new BerthError("VALIDATION", `${file} already exists: pass --force to overwrite it, or --config OTHER`);
    }
    throw new BerthError("VALIDATION", `Cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
  io.stdout.write(`Wrote ${file}: edit it, then run "berth validate" and "berth plan".\n`);
  return 0;
}
