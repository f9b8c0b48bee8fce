/**
 * Each tool's input for the bench workload: berth's config.yaml, a docker
 * CLI script per scenario, Ansible's inventory and playbooks.
 *
 * @module
 */
import { allContainers, type BenchHost, containersOf, MOUNT_TARGET, type Workload } from "./workload.ts";

/** The five measured scenarios. */
export type Scenario = "converge" | "noop" | "env" | "file" | "remove";

const q = (s: string): string => `'${s.replaceAll("'", `'"'"'`)}'`;

/**
 * berth's config.yaml: every container declares the host's config file (so a
 * change restarts each of them). `gateNone` gives every container
 * `gate: { none: true }`: what the default gate costs, measured beside it.
 */
export function berthConfig(w: Workload, gateNone = false): string {
  const lines = [
    "ssh:",
    "  user: root",
    `  privateKeyPath: ${JSON.stringify(w.privateKeyPath)}`,
    `  knownHostsFile: ${JSON.stringify(w.knownHostsFile)}`,
    "hosts:",
    ...w.hosts.map((h) => `  ${h.name}: { ssh: { address: ${h.address} } }`),
    "containers:",
  ];
  for (const c of allContainers(w)) {
    lines.push(
      `  ${c.name}:`,
      `    host: ${c.host.name}`,
      `    image: ${w.image}`,
      `    args: ${JSON.stringify(w.command)}`,
      `    env: { BENCH_VALUE: ${JSON.stringify(c.env)} }`,
      "    networkMode: host",
      "    init: true",
      ...(gateNone ? ["    gate: { none: true }"] : []),
      `    mounts: [ { source: ${JSON.stringify(c.configDir)}, target: ${MOUNT_TARGET} } ]`,
      "    configFiles:",
      `      ${JSON.stringify(c.host.configFile)}: ${JSON.stringify(c.host.config)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A bash script doing one scenario with the docker CLI (`DOCKER_HOST=ssh://`),
 * hosts in parallel; the config file goes through ssh. `contentFile(host)` is
 * a local file holding that host's config. Like the floor, the script knows
 * what changed and touches only that.
 */
export function dockerScript(
  w: Workload,
  scenario: Scenario,
  previous: Workload,
  contentFile: (h: BenchHost) => string,
): string {
  const out = ["set -euo pipefail", "pids=()"];
  for (const h of w.hosts) {
    const cs = containersOf(w, h);
    const was = containersOf(previous, h);
    const docker = `docker -H ssh://root@${h.address}`;
    const ssh = `ssh root@${h.address}`;
    const run = (name: string, env: string) =>
      `${docker} run -d --name ${name} --init --network host --restart unless-stopped -e BENCH_VALUE=${q(env)} ` +
      `--mount type=bind,source=${q(h.configDir)},target=${MOUNT_TARGET} ${w.image} ${
        w.command.map(q).join(" ")
      } >/dev/null`;
    const writeFile = `${ssh} ${q(`mkdir -p ${q(h.configDir)} && cat > ${q(h.configFile)}`)} < ${q(contentFile(h))}`;
    const names = cs.map((c) => c.name).join(" ");
    const steps: string[] = [];
    switch (scenario) {
      case "converge":
        steps.push(writeFile, ...cs.map((c) => run(c.name, c.env)));
        break;
      case "noop": {
        // One inspect for the host's containers, then the file read back and compared.
        const want = cs.map((c) => `${c.name} true BENCH_VALUE=${c.env}`).join("\\n");
        steps.push(
          `got=$(${docker} inspect -f '{{slice .Name 1}} {{.State.Running}} {{range .Config.Env}}{{if eq (index (split . "=") 0) "BENCH_VALUE"}}{{.}}{{end}}{{end}}' ${names})`,
          `[[ $got == "$(printf '${want}')" ]] || { echo "drift on ${h.name}: $got" >&2; exit 1; }`,
          `${ssh} cat ${q(h.configFile)} | cmp -s - ${
            q(contentFile(h))
          } || { echo "file drift on ${h.name}" >&2; exit 1; }`,
        );
        break;
      }
      case "env":
        for (const [i, c] of cs.entries()) {
          if (was[i]?.env !== c.env) steps.push(`${docker} rm -f ${c.name} >/dev/null`, run(c.name, c.env));
        }
        break;
      case "file":
        if (previous.hosts.find((p) => p.name === h.name)?.config !== h.config) {
          steps.push(writeFile, `${docker} restart ${names} >/dev/null`);
        }
        break;
      case "remove":
        steps.push(`${docker} rm -f ${names} >/dev/null`);
        break;
    }
    if (steps.length > 0) out.push(`( ${steps.join("\n  ")}\n) &`, "pids+=($!)");
  }
  out.push('for p in "${pids[@]}"; do wait "$p"; done');
  return `${out.join("\n")}\n`;
}

/** The ssh client config the docker CLI and the file writes use (through a `ssh` wrapper on PATH). */
export function sshConfig(w: Workload, controlDir: string | undefined): string {
  const lines = [
    "Host *",
    "  User root",
    `  IdentityFile ${w.privateKeyPath}`,
    "  IdentitiesOnly yes",
    `  UserKnownHostsFile ${w.knownHostsFile}`,
    "  StrictHostKeyChecking yes",
    "  BatchMode yes",
  ];
  if (controlDir !== undefined) {
    lines.push("  ControlMaster auto", `  ControlPath ${controlDir}/%C`, "  ControlPersist 60");
  }
  return `${lines.join("\n")}\n`;
}

/** Ansible's inventory, with each host's config file and containers as host variables (JSON). */
export function ansibleInventory(w: Workload): string {
  const hosts = Object.fromEntries(w.hosts.map((h) => [h.name, {
    ansible_host: h.address,
    config_dir: h.configDir,
    config_file: h.configFile,
    config: h.config,
    containers: containersOf(w, h).map((c) => ({ name: c.name, env: c.env })),
  }]));
  return JSON.stringify(
    {
      all: {
        vars: {
          ansible_user: "root",
          ansible_ssh_private_key_file: w.privateKeyPath,
          ansible_ssh_common_args:
            `-o UserKnownHostsFile=${w.knownHostsFile} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
          ansible_python_interpreter: "/usr/bin/python3",
          bench_image: w.image,
          bench_command: w.command,
        },
        hosts,
      },
    },
    null,
    1,
  );
}

/** ansible.cfg: the defaults people run with, one fork per host, and pipelining when asked (off by default in Ansible). */
export function ansibleCfg(forks: number, controlDir: string, pipelining: boolean): string {
  return [
    "[defaults]",
    `forks = ${forks}`,
    "host_key_checking = True",
    "gathering = explicit",
    "retry_files_enabled = False",
    "[ssh_connection]",
    `pipelining = ${pipelining ? "True" : "False"}`,
    `control_path_dir = ${controlDir}`,
    "",
  ].join("\n");
}

/** The converge playbook (scenarios a-d: Ansible finds what changed itself). */
export const ANSIBLE_CONVERGE = `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.file: { path: "{{ config_dir }}", state: directory, mode: "0755" }
    - ansible.builtin.copy: { dest: "{{ config_file }}", content: "{{ config }}", mode: "0600" }
      register: conf
    - community.docker.docker_container:
        docker_host: unix:///var/run/docker.sock
        name: "{{ item.name }}"
        image: "{{ bench_image }}"
        command: "{{ bench_command }}"
        env: { BENCH_VALUE: "{{ item.env }}" }
        network_mode: host
        init: true
        restart_policy: unless-stopped
        mounts: [ { type: bind, source: "{{ config_dir }}", target: ${MOUNT_TARGET} } ]
        restart: "{{ conf.changed }}"
      loop: "{{ containers }}"
`;

/** The remove-all playbook (scenario e). */
export const ANSIBLE_REMOVE = `- hosts: all
  gather_facts: false
  tasks:
    - community.docker.docker_container:
        docker_host: unix:///var/run/docker.sock
        name: "{{ item.name }}"
        state: absent
        force_kill: true
      loop: "{{ containers }}"
`;
