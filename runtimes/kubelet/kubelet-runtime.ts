/**
 * The kubelet-style runtime plugin: runs each berth container the way a
 * kubelet runs a host-network pod, through the CRI v1 gRPC API of
 * containerd (or CRI-O), and copies files by exec'ing `tar` in the container.
 *
 * A berth container is one pod sandbox holding one container; its id is the
 * **sandbox id**. CRI containers cannot be started twice, so `start()` of an
 * exited container replaces it inside the same sandbox (from the config kept
 * in a sandbox annotation); the id berth records stays the same.
 *
 * A sandbox cannot be renamed, so a recreate (engine/replace.ts) runs the new
 * one as the next **generation** of the name (the sandbox metadata's attempt,
 * with its own log directory) beside the old one: the newest generation holds
 * the name, and older ones are reported under the name berth gives old
 * containers set aside (`<name>.berth-old-<id8>`, engine/aside.ts), which is
 * what a killed run leaves for the next apply to settle. `rename()` only sets
 * a sandbox aside or gives it its name back.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError, withContext } from "../../core/errors.ts";
import { asideName } from "../../core/aside-name.ts";
import {
  type ContainerConfig,
  type ContainerStatus,
  DEFAULT_CRI_ADDRESS,
  type ImageIdentity,
  type KubeletRuntimeConfig,
  type PullPolicy,
} from "../../core/model.ts";
import type { Transport } from "../../transports/transport.ts";
import { identityOf, imageMissing, parseImageReference } from "../image-reference.ts";
import {
  type CallOptions,
  type CreateOptions,
  LABEL_HELPER,
  type LogOptions,
  type ObservedContainer,
  type Runtime,
} from "../runtime.ts";
import {
  type ContainerExec,
  makeDirectories,
  missingTools,
  readFiles,
  REQUIRED_TOOLS,
  statPaths,
  writeFiles,
} from "./container-files.ts";
import {
  type Container,
  type ContainerState,
  criClient,
  type LinuxContainerResources,
  type PodSandbox,
  type PodSandboxConfig,
} from "./cri-client.ts";
import { runExecStream } from "./exec-stream.ts";
import { grpcClient } from "./grpc.ts";
import { cleanerConfig, type ContainerOutput, parseCriLog, READER_LABEL, readerConfig } from "./logs.ts";
import { criResources, settingsFromResources } from "./linux-options.ts";
import { rotatedFiles, ROTATION_TOOLS, rotationOf, ROTATOR_ROLE, rotatorConfig } from "./log-rotation.ts";
import {
  type AnnotatedConfig,
  checkSupported,
  CONFIG_ANNOTATION,
  containerLogPath,
  POD_NAMESPACE,
  podSpec,
} from "./pod-spec.ts";
import { signalOption } from "../../core/signal.ts";
import { shortId } from "../../core/container-id.ts";

/** Settings of {@link kubeletRuntime} besides the runtime config. */
export interface KubeletRuntimeOptions {
  transport: Transport;
  /** How the host is named in messages; default the transport's description. */
  hostLabel?: string;
}

/** The CRI socket when none is configured. */

const PULL_TIMEOUT_MS = 10 * 60_000;
const CALL_TIMEOUT_MS = 60_000;
const EXEC_TIMEOUT_S = 60;
/** How long a removal waits for the runtime to finish starting a container of the sandbox, and how often it looks. */
const STARTING_WAIT_MS = 30_000;
const STARTING_POLL_MS = 250;
/** All of deleting a removed container's logs (a helper image pull included): never holds up the removal long. */
const CLEANUP_TIMEOUT_MS = 15_000;

const STATES: Record<ContainerState, string> = {
  CONTAINER_CREATED: "created",
  CONTAINER_RUNNING: "running",
  CONTAINER_EXITED: "exited",
  CONTAINER_UNKNOWN: "unknown",
};

/**
 * Creates the kubelet-style runtime bound to one host. Nothing is connected
 * until the first call; the CRI socket is reached through the transport,
 * and so is the exec stream server (on the runtime's host loopback).
 *
 * @param config CRI address, helper image, registry credentials.
 * @param options Transport and host label.
 * @returns The runtime; `close()` it when done.
 * @throws {BerthError} VALIDATION when the address is not `unix://`.
 *
 * @example
 * ```ts
 * import { kubeletRuntime } from "./mod.ts";
 * import { directTransport } from "../../transports/direct.ts";
 * const cri = kubeletRuntime({}, { transport: directTransport(), hostLabel: "local" });
 * if (!cri.filesNeedRunningContainer) throw new Error("exec needs a running container");
 * await cri.close();
 * ```
 */
export function kubeletRuntime(config: KubeletRuntimeConfig, options: KubeletRuntimeOptions): Runtime {
  const { transport } = options;
  const hostLabel = options.hostLabel ?? transport.description;
  const address = config.address ?? DEFAULT_CRI_ADDRESS;
  if (!address.startsWith("unix://")) {
    throw new BerthError(
      "VALIDATION",
      `host ${hostLabel}: CRI address "${address}" must be a unix socket (unix:///run/containerd/containerd.sock)`,
    );
  }
  const socketPath = address.slice("unix://".length);
  const grpc = grpcClient({
    open: (signal) => transport.openUnixSocket(socketPath, signalOption(signal)),
    description: `the CRI runtime at ${address} on host ${hostLabel}`,
  });
  const cri = criClient(grpc);
  /** Containers whose image was checked for the file tools. */
  const toolsChecked = new Set<string>();
  const call = (
    o?: CallOptions,
    timeoutMs = CALL_TIMEOUT_MS,
  ) => (o?.signal === undefined ? { timeoutMs } : { signal: o.signal, timeoutMs });

  async function sandboxOf(id: string, o?: CallOptions): Promise<PodSandbox | undefined> {
    const [found] = await cri.listPodSandbox({ id }, call(o));
    return found?.metadata?.namespace === POD_NAMESPACE ? found : undefined;
  }

  /** Sandboxes set aside by `rename()` in this process, before their successor exists. */
  const setAside = new Set<string>();

  /** The generations of `name` in `all`, newest first. */
  function generations(all: PodSandbox[], name: string): PodSandbox[] {
    return all.filter((s) => s.metadata?.namespace === POD_NAMESPACE && s.metadata.name === name)
      .sort((a, b) => (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0));
  }

  /** The sandbox holding `name` in `all`: the newest generation not set aside. */
  function holder(all: PodSandbox[], name: string): PodSandbox | undefined {
    return generations(all, name).find((s) => !setAside.has(s.id));
  }

  /** The name `sandbox` has for berth: its own when it holds it, else the name of an old generation set aside. */
  function nameOf(all: PodSandbox[], sandbox: PodSandbox): string {
    const name = sandbox.metadata?.name ?? "";
    return holder(all, name)?.id === sandbox.id ? name : asideName(name, sandbox.id);
  }

  /** The sandbox's current container: the latest attempt (log readers aside). */
  async function containerIn(sandboxId: string, o?: CallOptions): Promise<Container | undefined> {
    const containers = (await cri.listContainers({ podSandboxId: sandboxId }, call(o))).filter((c) =>
      c.labels[READER_LABEL] === undefined
    );
    return containers.sort((a, b) => (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0))[0];
  }

  function observed(sandbox: PodSandbox, container: Container | undefined, name: string): ObservedContainer {
    const stored = storedConfig(sandbox);
    return {
      id: sandbox.id,
      // A sandbox whose container was removed behind berth's back is stopped; start() replaces the container.
      status: container === undefined ? "exited" : STATES[container.state],
      name,
      image: stored?.image ?? container?.image?.image ?? "",
      labels: sandbox.labels,
    };
  }

  async function running(id: string, o?: CallOptions): Promise<string> {
    const container = await containerIn(id, o);
    if (container === undefined && (await sandboxOf(id, o)) === undefined) {
      throw new BerthError("NOT_FOUND", "no such container");
    }
    if (container?.state !== "CONTAINER_RUNNING") {
      throw new BerthError("CONFLICT", "the container is not running (file operations exec inside it)");
    }
    return container.id;
  }

  function execIn(containerId: string): ContainerExec {
    return {
      run(cmd, signal) {
        const o = signalOption(signal);
        return cri.execSync(containerId, cmd, EXEC_TIMEOUT_S, { ...o, timeoutMs: (EXEC_TIMEOUT_S + 30) * 1000 });
      },
      async stream(cmd, stdin, signal) {
        const url = await cri.exec(containerId, cmd, signalOption(signal));
        return runExecStream(url, {
          ...(stdin === undefined ? {} : { stdin }),
          ...signalOption(signal),
          openTcp: (host: string, port: number, s?: AbortSignal): Promise<Duplex> =>
            transport.openTcp(host, port, signalOption(s)),
          doing: `exec ${cmd[0] ?? ""}`,
        });
      },
    };
  }

  /** Runs `fn`; a failure says what was being done ("stopping") to container `id` on this host. */
  async function onContainer<T>(doing: string, id: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw withContext(err, `${doing} container "${shortId(id)}" on host ${hostLabel}`, {
        host: hostLabel,
        container: id,
      });
    }
  }

  /** Runs `fn` on the files of container `id`; `doing` is like "reading \"/a\" from". */
  function withFiles<T>(
    id: string,
    doing: string,
    o: CallOptions | undefined,
    fn: (exec: ContainerExec) => Promise<T>,
  ): Promise<T> {
    return onContainer(doing, id, async () => fn(await files(id, o)));
  }

  /** The exec access to a running container, its image checked for the tools once. */
  async function files(id: string, o?: CallOptions): Promise<ContainerExec> {
    const containerId = await running(id, o);
    const exec = execIn(containerId);
    if (!toolsChecked.has(containerId)) {
      const missing = await missingTools(exec, o?.signal);
      if (missing.length > 0) {
        throw new BerthError(
          "VALIDATION",
          `the image lacks ${missing.map((t) => `"${t}"`).join(", ")}; berth copies files with ${
            REQUIRED_TOOLS.join(", ")
          }: ` +
            "set `runtime.kubelet.configImage` to an image that has them (busybox will do)",
        );
      }
      toolsChecked.add(containerId);
    }
    return exec;
  }

  async function pull(image: string, o?: CallOptions): Promise<void> {
    const registry = parseImageReference(image).registry;
    const credentials = config.registryAuth?.[registry];
    // No serverAddress: containerd wants a URL there and then matches its host against the
    // host it pulls from (registry-1.docker.io for docker.io); these credentials are this pull's.
    const auth = credentials === undefined
      ? undefined
      : { username: credentials.username, password: credentials.password };
    try {
      await cri.pullImage(image, auth, call(o, PULL_TIMEOUT_MS));
    } catch (err) {
      if (err instanceof BerthError && (err.code === "ABORTED" || err.code === "TIMEOUT" || err.code === "CONNECT")) {
        throw err;
      }
      const message = (err as Error).message;
      const hint = !/unauthorized|authentication required|denied/i.test(message)
        ? ""
        : credentials === undefined
        ? ` (no credentials for ${registry} in registryAuth)`
        : ` (the registry refused the credentials in registryAuth for ${registry})`;
      throw new BerthError("IMAGE_PULL", `pulling image "${image}" on host ${hostLabel}: ${message}${hint}`, {
        host: hostLabel,
        cause: err,
      });
    }
  }

  async function ensureImage(image: string, o?: CallOptions & { pull?: PullPolicy }): Promise<void> {
    const policy = o?.pull ?? "missing";
    // A digest reference names one image for good: present is as good as pulled again.
    if (policy === "always" && !image.includes("@")) return await pull(image, o);
    if ((await imageIdentity(image, o)) !== undefined) return;
    if (policy === "never") throw imageMissing(image, hostLabel);
    await pull(image, o);
  }

  async function imageIdentity(image: string, o?: CallOptions): Promise<ImageIdentity | undefined> {
    const info = await cri.imageInfo(image, call(o)).catch((err) => {
      throw withContext(err, `looking up image "${image}" on host ${hostLabel}`, { host: hostLabel });
    });
    return info === undefined ? undefined : identityOf(image, info.id, info.repoDigests);
  }

  /** Creates and starts the container in its sandbox from the stored config (next attempt). */
  async function replaceContainer(
    sandbox: PodSandbox,
    previous: Container | undefined,
    o?: CallOptions,
  ): Promise<string> {
    const stored = storedConfig(sandbox);
    if (stored === undefined) {
      throw new BerthError(
        "STATE",
        `sandbox ${shortId(sandbox.id)} has no berth config annotation; remove it and apply again`,
      );
    }
    const env = await restoredEnv(stored, previous, o);
    // The limits as they are now: an update since the sandbox was made is not in its annotation.
    const resources = previous === undefined ? undefined : await cri.containerResources(previous.id, call(o));
    if (previous !== undefined) await cri.removeContainer(previous.id, call(o));
    const { envNames: _names, ...config } = stored;
    const spec = podSpec(
      { ...config, ...(env === undefined ? {} : { env }) },
      sandbox.labels,
      false,
      sandbox.metadata?.attempt ?? 0,
    );
    if (resources !== undefined && Object.keys(resources).length > 0) {
      (spec.container.linux as { resources?: LinuxContainerResources }).resources = resources;
    }
    spec.container.metadata.attempt = (previous?.metadata?.attempt ?? 0) + 1;
    spec.container.logPath = containerLogPath(sandbox.id);
    const containerId = await cri.createContainer(sandbox.id, spec.container, spec.sandbox, call(o));
    await cri.startContainer(containerId, call(o));
    return containerId;
  }

  /** The env values of the container being replaced, for the names the annotation lists (it holds no values). */
  async function restoredEnv(
    stored: AnnotatedConfig,
    previous: Container | undefined,
    o?: CallOptions,
  ): Promise<Record<string, string> | undefined> {
    const names = stored.envNames ?? [];
    if (names.length === 0) return undefined;
    const lines = previous === undefined ? undefined : await cri.containerEnv(previous.id, call(o));
    if (lines === undefined) {
      throw new BerthError(
        "STATE",
        `cannot restore the environment of container "${stored.name}": the runtime no longer has the container it replaces; apply again to re-create it`,
      );
    }
    const values = new Map(lines.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
    return Object.fromEntries(names.map((name) => [name, values.get(name) ?? ""]));
  }

  /** The image of a log reader or cleaner in `sandbox` (the helper image, else the container's), and the sandbox's config. */
  async function logHelper(
    sandbox: PodSandbox,
    container: Container | undefined,
    o?: CallOptions,
  ): Promise<{ image: string; sandboxConfig: PodSandboxConfig }> {
    const stored = storedConfig(sandbox);
    const image = config.configImage ?? stored?.image ?? container?.image?.image ?? "";
    if (config.configImage !== undefined) await ensureImage(config.configImage, o);
    return {
      image,
      sandboxConfig: podSpec(
        stored ?? { name: sandbox.metadata?.name ?? "", image },
        sandbox.labels,
        false,
        sandbox.metadata?.attempt ?? 0,
      ).sandbox,
    };
  }

  /**
   * Deletes the sandbox's log directory, which the runtime leaves behind, with
   * a cleaner container in the (running) sandbox; removing the sandbox removes it.
   */
  async function deleteLogs(sandbox: PodSandbox, container: Container | undefined, o?: CallOptions): Promise<void> {
    const deadline = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
    const within = { signal: o?.signal === undefined ? deadline : AbortSignal.any([o.signal, deadline]) };
    const { image, sandboxConfig } = await logHelper(sandbox, container, within);
    const cleaner = cleanerConfig(image, sandboxConfig.logDirectory ?? "");
    const cleanerId = await cri.createContainer(sandbox.id, cleaner.config, sandboxConfig, call(within));
    await cri.startContainer(cleanerId, call(within));
    await cri.execSync(cleanerId, ["rm", "-rf", cleaner.path], CLEANUP_TIMEOUT_MS / 1000, call(within));
  }

  /**
   * Starts the rotator of the container's log file in its sandbox (see
   * log-rotation.ts), unless `config` turns rotation off; checks first that
   * its image has the tools the rotator runs.
   */
  async function startRotator(
    sandboxId: string,
    sandboxConfig: PodSandboxConfig,
    containerConfig: ContainerConfig,
    o?: CallOptions,
  ): Promise<void> {
    const { rotation } = rotationOf(containerConfig.logging);
    if (rotation === undefined) return;
    const image = config.configImage ?? containerConfig.image;
    if (config.configImage !== undefined) await ensureImage(config.configImage, o);
    const rotator = rotatorConfig(image, sandboxConfig.logDirectory ?? "", containerLogPath(sandboxId), rotation);
    const rotatorId = await cri.createContainer(sandboxId, rotator, sandboxConfig, call(o));
    const missing = await (async () => {
      try {
        await cri.startContainer(rotatorId, call(o));
      } catch (err) {
        if (err instanceof BerthError && err.code === "ENGINE" && /executable file not found/i.test(err.message)) {
          return ["sh"];
        }
        throw err;
      }
      const check = await cri.execSync(
        rotatorId,
        ["sh", "-c", 'for t do command -v "$t" >/dev/null || echo "$t"; done', "sh", ...ROTATION_TOOLS],
        EXEC_TIMEOUT_S,
        call(o),
      );
      return new TextDecoder().decode(check.stdout).split("\n").filter((t) => t !== "");
    })();
    if (missing.length > 0) {
      throw new BerthError(
        "VALIDATION",
        `the image "${image}" lacks ${
          missing.map((t) => `"${t}"`).join(", ")
        }; berth rotates the container's log with sh, ${
          ROTATION_TOOLS.join(", ")
        }: set \`runtime.kubelet.configImage\` to an image that has them (busybox will do), or turn rotation off with logging: { options: { max-size: "-1" } }`,
      );
    }
  }

  /**
   * Removes a stopped sandbox. containerd refuses while a StartContainer of one
   * of its containers is still being served ("container is in starting
   * state"): one sent by a berth killed mid-call goes on server-side until
   * the shim answers (2.4 s seen here under load) and then fails. The removal
   * is tried again until that is over, for at most STARTING_WAIT_MS.
   */
  async function removeSandbox(id: string, o?: CallOptions): Promise<void> {
    const deadline = Date.now() + STARTING_WAIT_MS;
    for (;;) {
      try {
        return await cri.removePodSandbox(id, call(o));
      } catch (err) {
        if (!(err instanceof BerthError) || !/in starting state/.test(err.message)) throw err;
        if (Date.now() >= deadline) {
          throw new BerthError(
            "TIMEOUT",
            `${err.message}: the runtime was still starting a container of the sandbox after ${
              STARTING_WAIT_MS / 1000
            } s (a start sent by an interrupted run?); apply again once it is done, or restart the runtime if it never is`,
            { cause: err },
          );
        }
        // A start that succeeds leaves a running container: RemovePodSandbox stops the sandbox again first.
        await sleep(STARTING_POLL_MS);
      }
    }
  }

  /** Reads the container's log file through a reader container started in its sandbox. */
  async function readLogs(id: string, o?: LogOptions): Promise<ContainerOutput> {
    const [sandbox, container] = await Promise.all([sandboxOf(id, o), containerIn(id, o)]);
    if (sandbox === undefined) throw new BerthError("NOT_FOUND", "no such container");
    if (container === undefined || container.state === "CONTAINER_CREATED") return { stdout: "", stderr: "" };
    const logPath = (await cri.containerStatus(container.id, call(o)))?.logPath ?? "";
    if (logPath === "") {
      throw new BerthError(
        "NOT_FOUND",
        "the container has no log file (it was created by a berth that did not keep CRI logs): recreate it to keep its output",
      );
    }
    const { image, sandboxConfig } = await logHelper(sandbox, container, o);
    const reader = readerConfig(image, logPath);
    // The rotated files, oldest first, then the current one (missing files are skipped).
    const paths = [...rotatedFiles(reader.path, rotationOf(storedConfig(sandbox)?.logging).rotation), reader.path];
    const readerId = await cri.createContainer(sandbox.id, reader.config, sandboxConfig, call(o));
    const exec = execIn(readerId);
    try {
      await cri.startContainer(readerId, call(o));
      const files = new Map((await readFiles(exec, paths, o?.signal)).map((f) => [f.path, f.content]));
      const text = paths.map((p) => new TextDecoder().decode(files.get(p) ?? new Uint8Array())).join("");
      return parseCriLog(text, o?.tail, {
        ...(o?.since === undefined ? {} : { since: o.since }),
        ...(o?.timestamps === undefined ? {} : { timestamps: o.timestamps }),
      });
    } catch (err) {
      // The reader runs `head` and reads with `sh` and `tar`: say which the image lacks.
      if (!(err instanceof BerthError) || err.code !== "ENGINE") throw err;
      const missing = /executable file not found/i.test(err.message)
        ? ["head"]
        : await missingTools(exec, o?.signal).catch(() => []);
      if (missing.length === 0) throw err;
      throw new BerthError(
        "VALIDATION",
        `the image "${image}" lacks ${missing.map((t) => `"${t}"`).join(", ")}; berth reads logs with ${
          REQUIRED_TOOLS.join(", ")
        }: ` +
          "set `runtime.kubelet.configImage` to an image that has them (busybox will do)",
        { cause: err },
      );
    } finally {
      // Removing a running container kills it; not tied to the caller's signal, so an abort leaves nothing behind.
      await cri.removeContainer(readerId, call()).catch(() => {});
    }
  }

  return {
    filesNeedRunningContainer: true,
    // The CRI socket is a unix socket on the machine the transport reaches.
    hostFiles: transport.files(),

    ensureImage,
    imageIdentity,

    async create(containerConfig: ContainerConfig, o?: CreateOptions) {
      const name = containerConfig.name;
      checkSupported(containerConfig);
      const labels = { ...o?.labels };
      // The file helper runs the configured helper image, when there is one.
      const effective = labels[LABEL_HELPER] === "true" && config.configImage !== undefined
        ? { ...containerConfig, image: config.configImage }
        : containerConfig;
      return await onContainer("creating", name, async () => {
        if (effective !== containerConfig) await ensureImage(effective.image, o);
        const all = await cri.listPodSandbox({}, call(o));
        if (holder(all, name) !== undefined) throw new BerthError("CONFLICT", `the name "${name}" is already in use`);
        // The next generation: beside an old one set aside by a recreate.
        let generation = (generations(all, name)[0]?.metadata?.attempt ?? -1) + 1;
        let spec = podSpec(effective, labels, o?.readOnlyMounts === true, generation);
        let sandboxId: string | undefined;
        for (let tries = 1; sandboxId === undefined; tries++) {
          try {
            sandboxId = await cri.runPodSandbox(spec.sandbox, call(o));
          } catch (err) {
            // A killed run's RunPodSandbox, still being made or undone, holds its generation unlisted: the next one.
            if (tries === 3 || !/failed to reserve sandbox name/.test((err as Error).message)) throw err;
            spec = podSpec(effective, labels, o?.readOnlyMounts === true, ++generation);
          }
        }
        spec.container.logPath = containerLogPath(sandboxId);
        try {
          await cri.createContainer(sandboxId, spec.container, spec.sandbox, call(o));
          // berth's file helpers are short-lived: their output needs no rotation.
          if (labels[LABEL_HELPER] !== "true") await startRotator(sandboxId, spec.sandbox, effective, o);
        } catch (err) {
          // Never leave a sandbox without its container.
          await cri.stopPodSandbox(sandboxId, call()).then(() => cri.removePodSandbox(sandboxId, call())).catch(
            () => {},
          );
          throw err;
        }
        return sandboxId;
      });
    },

    // The in-place settings CRI takes are the resource limits (the others are refused, see CRI_MAPPING).
    async update(id, containerConfig, o) {
      checkSupported(containerConfig);
      const resources = criResources(containerConfig);
      if (resources === undefined) return;
      await onContainer("updating", id, async () => {
        const container = await containerIn(id, o);
        if (container === undefined) throw new BerthError("NOT_FOUND", "no such container");
        await cri.updateContainerResources(container.id, resources, call(o));
      });
    },

    async start(id, o) {
      return await onContainer("starting", id, async () => {
        const container = await containerIn(id, o);
        if (container?.state === "CONTAINER_RUNNING") return;
        if (container?.state === "CONTAINER_CREATED") {
          await cri.startContainer(container.id, call(o));
          return;
        }
        const sandbox = await sandboxOf(id, o);
        if (sandbox === undefined) throw new BerthError("NOT_FOUND", "no such container");
        await replaceContainer(sandbox, container, o);
      });
    },

    async stop(id, o) {
      const seconds = o?.timeoutSeconds ?? 10;
      return await onContainer("stopping", id, async () => {
        const container = await containerIn(id, o);
        if (container === undefined) {
          if ((await sandboxOf(id, o)) === undefined) throw new BerthError("NOT_FOUND", "no such container");
          return;
        }
        if (container.state !== "CONTAINER_RUNNING") return;
        await cri.stopContainer(container.id, seconds, call(o, seconds * 1000 + CALL_TIMEOUT_MS));
      });
    },

    async remove(id, o) {
      return await onContainer("removing", id, async () => {
        const sandbox = await sandboxOf(id, o);
        if (sandbox === undefined) throw new BerthError("NOT_FOUND", "no such container");
        const container = await containerIn(id, o);
        if (o?.force !== true && container?.state === "CONTAINER_RUNNING") {
          throw new BerthError("CONFLICT", "the container is running: stop it first, or remove with force");
        }
        // The log file exists once a container started, the log directory once the rotator did. Not
        // deleting them (an image without `rm`, say) leaves files behind: no reason to keep the container.
        const started = container === undefined || container.state !== "CONTAINER_CREATED" ||
          (container.metadata?.attempt ?? 0) > 0 ||
          (await cri.listContainers({ podSandboxId: id }, call(o))).some((c) =>
            c.labels[READER_LABEL] === ROTATOR_ROLE
          );
        if (started && sandbox.state === "SANDBOX_READY") await deleteLogs(sandbox, container, o).catch(() => {});
        // Stopping the sandbox kills what still runs in it; removing it removes its container.
        await cri.stopPodSandbox(id, call(o));
        await removeSandbox(id, o);
        setAside.delete(id);
      });
    },

    async status(id, o): Promise<ContainerStatus | undefined> {
      return await onContainer("reading the status of", id, async () => {
        const sandbox = await sandboxOf(id, o);
        const container = sandbox === undefined ? undefined : await containerIn(sandbox.id, o);
        return sandbox === undefined
          ? undefined
          : { id: sandbox.id, status: container === undefined ? "exited" : STATES[container.state] };
      });
    },

    async inspect(idOrName, o) {
      return await onContainer("inspecting", idOrName, async () => {
        const all = await cri.listPodSandbox({}, call(o));
        const sandbox = /^[0-9a-f]{64}$/.test(idOrName)
          ? all.find((s) => s.id === idOrName && s.metadata?.namespace === POD_NAMESPACE)
          : holder(all, idOrName);
        if (sandbox === undefined) return undefined;
        const container = await containerIn(sandbox.id, o);
        // The environment, for drift of sensitive values, and the limits, for drift of the in-place settings;
        // a runtime that does not tell them (no verbose info) leaves them out.
        const [env, resources] = container === undefined ? [] : await Promise.all([
          cri.containerEnv(container.id, call(o)).catch(() => undefined),
          cri.containerResources(container.id, call(o)).catch(() => undefined),
        ]);
        return {
          ...observed(sandbox, container, nameOf(all, sandbox)),
          ...(env === undefined ? {} : { env }),
          ...(resources === undefined ? {} : { settings: settingsFromResources(resources) }),
        };
      });
    },

    async list(labels, o) {
      try {
        // All sandboxes: which generation holds a name depends on the others of that name.
        const [all, containers] = await Promise.all([
          cri.listPodSandbox({}, call(o)),
          cri.listContainers({ labelSelector: labels }, call(o)),
        ]);
        const latest = new Map<string, Container>();
        for (const c of containers) {
          if (c.labels[READER_LABEL] !== undefined) continue;
          const seen = latest.get(c.podSandboxId);
          if (seen === undefined || (c.metadata?.attempt ?? 0) > (seen.metadata?.attempt ?? 0)) {
            latest.set(c.podSandboxId, c);
          }
        }
        const selected = all.filter((s) =>
          s.metadata?.namespace === POD_NAMESPACE && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
        );
        return selected.map((s) => observed(s, latest.get(s.id), nameOf(all, s)));
      } catch (err) {
        throw withContext(err, `listing containers on host ${hostLabel}`, { host: hostLabel });
      }
    },

    // Sets a sandbox aside (any other name) until its successor exists, or gives it its own name back.
    async rename(id, to, o) {
      await onContainer("renaming", id, async () => {
        const all = await cri.listPodSandbox({}, call(o));
        const sandbox = all.find((s) => s.id === id && s.metadata?.namespace === POD_NAMESPACE);
        if (sandbox === undefined) throw new BerthError("NOT_FOUND", "no such container");
        const name = sandbox.metadata?.name ?? "";
        if (to !== name) {
          if (to !== asideName(name, id)) {
            throw new BerthError(
              "VALIDATION",
              `a CRI pod sandbox keeps its name "${name}"; it can only be set aside as "${asideName(name, id)}"`,
            );
          }
          setAside.add(id);
          return;
        }
        setAside.delete(id);
        const now = holder(all.filter((s) => s.id !== id), name);
        if (now !== undefined && (now.metadata?.attempt ?? 0) > (sandbox.metadata?.attempt ?? 0)) {
          setAside.add(id);
          throw new BerthError("CONFLICT", `the name "${name}" is in use by the newer sandbox ${shortId(now.id)}`);
        }
      });
    },

    async writeFiles(id, toWrite, o) {
      if (toWrite.length === 0) return;
      const names = listed(toWrite.map((f) => f.path));
      await withFiles(id, `writing ${names} in`, o, (exec) => writeFiles(exec, toWrite, o?.signal));
    },

    async readFiles(id, paths, o) {
      if (paths.length === 0) return [];
      return await withFiles(id, `reading ${listed(paths)} from`, o, (exec) => readFiles(exec, paths, o?.signal));
    },

    async stat(id, paths, o) {
      if (paths.length === 0) return [];
      return await withFiles(id, `checking ${listed(paths)} in`, o, (exec) => statPaths(exec, paths, o?.signal));
    },

    async mkdir(id, paths, o) {
      if (paths.length === 0) return;
      const mode = o?.mode ?? 0o700;
      await withFiles(
        id,
        `creating directories ${listed(paths)} in`,
        o,
        (e) => makeDirectories(e, paths, mode, o?.signal),
      );
    },

    async logs(id, o) {
      return await onContainer("reading the logs of", id, () => readLogs(id, o));
    },

    // CRI runs no healthchecks: gates run the container's through this (engine/gate.ts).
    async exec(id, command, o) {
      return await onContainer("running a command in", id, async () => {
        const timeout = o?.timeoutSeconds ?? EXEC_TIMEOUT_S;
        const result = await cri.execSync(await running(id, o), command, timeout, call(o, (timeout + 30) * 1000));
        const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
        const output = [text(result.stdout), text(result.stderr)].filter((part) => part !== "").join("\n");
        return { exitCode: result.exitCode, output };
      });
    },

    close: () => grpc.close(),
  };
}

function storedConfig(sandbox: PodSandbox): AnnotatedConfig | undefined {
  const text = sandbox.annotations[CONFIG_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as AnnotatedConfig;
  } catch {
    return undefined;
  }
}

/** Long ids shortened for messages. */

function listed(paths: string[]): string {
  return paths.map((p) => `"${p}"`).join(", ");
}
