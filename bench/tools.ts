/**
 * The measured tools: berth on Node, Bun and as a binary, the raw-API
 * floors (ssh2, and OpenSSH with a forwarded socket), the docker CLI over ssh:// (with and without connection sharing)
 * and Ansible. Each gets its own working directory and turns a scenario
 * into one command.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ANSIBLE_CONVERGE,
  ANSIBLE_REMOVE,
  ansibleCfg,
  ansibleInventory,
  berthConfig,
  dockerScript,
  type Scenario,
  sshConfig,
} from "./inputs.ts";
import type { Command } from "./measure.ts";
import type { BenchHost, Workload } from "./workload.ts";

/** One tool under measure. */
export interface Tool {
  name: string;
  /** True for the tools berth is compared with (not the floor). */
  peer: boolean;
  /** Sets up the tool's fresh directory. */
  prepare(dir: string, w: Workload): void;
  /** The command doing `scenario` (to reach `w` from `previous`). */
  command(dir: string, scenario: Scenario, w: Workload, previous: Workload): Command;
  /** Untimed, before every command: so that every run starts cold (no shared SSH connection left over). */
  reset?(dir: string): void;
}

/**
 * berth run as `argv... apply --yes` (`destroy --yes` for remove) in its
 * directory; `gateNone`: every container with `gate: { none: true }`, named
 * as such (the targets are judged on the defaults).
 */
export function berthTool(name: string, argv: string[], gateNone = false): Tool {
  return {
    name,
    peer: false,
    prepare() {},
    command(dir, scenario, w) {
      writeFileSync(join(dir, "config.yaml"), berthConfig(w, gateNone));
      return {
        argv: [...argv, scenario === "remove" ? "destroy" : "apply", "--yes"],
        cwd: dir,
        env: { NO_COLOR: "1" },
      };
    },
  };
}

/** The raw-API floor, bundled for Node beforehand (`floor.mjs`). */
export function floorTool(floorJs: string): Tool {
  return {
    name: "floor",
    peer: false,
    prepare() {},
    command(dir, scenario, w) {
      writeFileSync(join(dir, "workload.json"), JSON.stringify(w));
      return { argv: ["node", floorJs, scenario, "workload.json", "state.json"], cwd: dir };
    },
  };
}

/** floor-openssh, bundled for Node beforehand (`floor-openssh.mjs`): OpenSSH masters, closed at its end. */
export function floorOpensshTool(js: string): Tool {
  return {
    name: "floor-openssh",
    peer: false,
    prepare(dir, w) {
      writeFileSync(join(dir, "ssh_config"), sshConfig(w, undefined));
    },
    command(dir, scenario, w) {
      writeFileSync(join(dir, "workload.json"), JSON.stringify(w));
      return { argv: ["node", js, scenario, "workload.json", join(dir, "ssh_config"), join(dir, "fwd")], cwd: dir };
    },
  };
}

/** Ends every SSH master whose socket is in `controlDir`. */
function closeMasters(controlDir: string): void {
  if (!existsSync(controlDir)) return;
  for (const f of readdirSync(controlDir)) {
    spawnSync("ssh", ["-o", `ControlPath=${join(controlDir, f)}`, "-O", "exit", "bench"], {
      stdio: "ignore",
      timeout: 10_000,
    });
  }
}

/** The docker CLI with `-H ssh://root@ADDR`; `mux`: ssh ControlMaster/ControlPersist. */
export function dockerTool(mux: boolean): Tool {
  return {
    name: mux ? "docker CLI (mux)" : "docker CLI",
    peer: true,
    prepare(dir, w) {
      mkdirSync(join(dir, "bin"), { recursive: true });
      mkdirSync(join(dir, "cm"), { recursive: true });
      writeFileSync(join(dir, "ssh_config"), sshConfig(w, mux ? join(dir, "cm") : undefined));
      // The docker CLI runs `ssh` from PATH; the wrapper gives it our config.
      writeFileSync(join(dir, "bin", "ssh"), `#!/bin/sh\nexec /usr/bin/ssh -F ${join(dir, "ssh_config")} "$@"\n`);
      chmodSync(join(dir, "bin", "ssh"), 0o755);
    },
    command(dir, scenario, w, previous) {
      const contentFile = (h: BenchHost) => join(dir, `${h.name}.conf`);
      for (const h of w.hosts) writeFileSync(contentFile(h), h.config);
      writeFileSync(join(dir, `${scenario}.sh`), dockerScript(w, scenario, previous, contentFile));
      return {
        argv: ["bash", join(dir, `${scenario}.sh`)],
        cwd: dir,
        env: { PATH: `${join(dir, "bin")}:${process.env["PATH"] ?? ""}`, DOCKER_CONFIG: join(dir, "docker") },
      };
    },
    reset(dir) {
      if (mux) closeMasters(join(dir, "cm"));
    },
  };
}

/**
 * Ansible with community.docker.docker_container over SSH (its default
 * ControlPersist): "ansible" as it comes (pipelining off: issue 16's 10x is
 * set against it), "ansible (pipelining)" tuned.
 */
export function ansibleTool(pipelining: boolean): Tool {
  return {
    name: pipelining ? "ansible (pipelining)" : "ansible",
    peer: true,
    prepare(dir, w) {
      mkdirSync(join(dir, "cp"), { recursive: true });
      writeFileSync(join(dir, "ansible.cfg"), ansibleCfg(w.hosts.length, join(dir, "cp"), pipelining));
      writeFileSync(join(dir, "converge.yml"), ANSIBLE_CONVERGE);
      writeFileSync(join(dir, "remove.yml"), ANSIBLE_REMOVE);
    },
    command(dir, scenario, w) {
      writeFileSync(join(dir, "inventory.json"), ansibleInventory(w));
      return {
        argv: ["ansible-playbook", "-i", "inventory.json", scenario === "remove" ? "remove.yml" : "converge.yml"],
        cwd: dir,
        env: { ANSIBLE_CONFIG: join(dir, "ansible.cfg"), ANSIBLE_LOCAL_TEMP: join(dir, "tmp"), ANSIBLE_NOCOLOR: "1" },
      };
    },
    reset(dir) {
      closeMasters(join(dir, "cp"));
    },
  };
}
