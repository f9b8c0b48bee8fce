/**
 * Typed CRI v1 calls (`runtime.v1.RuntimeService`, `runtime.v1.ImageService`)
 * over {@link GrpcClient}. Message fields are camelCase; int64 values are
 * numbers; enums are their names.
 *
 * @module
 */
import protobuf from "protobufjs";
import { CRI_DESCRIPTOR } from "./api-descriptor.ts";
import type { GrpcClient, MethodCodec, UnaryOptions } from "./grpc.ts";

export type NamespaceMode = "POD" | "CONTAINER" | "NODE" | "TARGET";
export type ContainerState = "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";
export type MountPropagation = "PROPAGATION_PRIVATE" | "PROPAGATION_HOST_TO_CONTAINER" | "PROPAGATION_BIDIRECTIONAL";

export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
}

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
  logDirectory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    securityContext?: {
      namespaceOptions?: NamespaceOption;
      privileged?: boolean;
    };
    sysctls?: Record<string, string>;
  };
}

export interface CriMount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
  propagation?: MountPropagation;
}

/** LinuxContainerResources: 0 or absent means "not set". */
export interface LinuxContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  cpusetCpus?: string;
  memorySwapLimitInBytes?: number;
}

export interface SecurityProfile {
  profileType: "RuntimeDefault" | "Unconfined" | "Localhost";
  localhostRef?: string;
}

export interface CriDevice {
  containerPath: string;
  hostPath: string;
  permissions: string;
}

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string };
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: Array<{ key: string; value: string }>;
  mounts?: CriMount[];
  devices?: CriDevice[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  logPath?: string;
  /** Keeps stdin open (nothing is ever sent). */
  stdin?: boolean;
  linux?: {
    resources?: LinuxContainerResources;
    securityContext?: {
      capabilities?: { addCapabilities?: string[]; dropCapabilities?: string[] };
      privileged?: boolean;
      namespaceOptions?: NamespaceOption;
      runAsUser?: { value: number };
      runAsUsername?: string;
      runAsGroup?: { value: number };
      readonlyRootfs?: boolean;
      supplementalGroups?: number[];
      noNewPrivs?: boolean;
      seccomp?: SecurityProfile;
      apparmor?: SecurityProfile;
    };
  };
}

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number } | null;
  image: { image: string } | null;
  imageRef: string;
  state: ContainerState;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerStatus {
  id: string;
  metadata: { name: string; attempt: number } | null;
  state: ContainerState;
  exitCode: number;
  image: { image: string } | null;
  imageRef: string;
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: CriMount[];
  logPath: string;
}

export interface PodSandbox {
  id: string;
  metadata: { name: string; uid: string; namespace: string; attempt: number } | null;
  state: "SANDBOX_READY" | "SANDBOX_NOTREADY";
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface AuthConfig {
  username?: string;
  password?: string;
  serverAddress?: string;
}

/** The CRI calls berth makes. */
export interface CriClient {
  version(
    o?: UnaryOptions,
  ): Promise<{ version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>;
  runPodSandbox(config: PodSandboxConfig, o?: UnaryOptions): Promise<string>;
  stopPodSandbox(id: string, o?: UnaryOptions): Promise<void>;
  removePodSandbox(id: string, o?: UnaryOptions): Promise<void>;
  listPodSandbox(
    filter: { id?: string; labelSelector?: Record<string, string> },
    o?: UnaryOptions,
  ): Promise<PodSandbox[]>;
  createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
    o?: UnaryOptions,
  ): Promise<string>;
  startContainer(id: string, o?: UnaryOptions): Promise<void>;
  /** Sets the resource limits of a created or running container. */
  updateContainerResources(id: string, resources: LinuxContainerResources, o?: UnaryOptions): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number, o?: UnaryOptions): Promise<void>;
  removeContainer(id: string, o?: UnaryOptions): Promise<void>;
  listContainers(
    filter: { id?: string; podSandboxId?: string; labelSelector?: Record<string, string> },
    o?: UnaryOptions,
  ): Promise<Container[]>;
  /** Status, or undefined when the container does not exist. */
  containerStatus(id: string, o?: UnaryOptions): Promise<ContainerStatus | undefined>;
  /** The process environment (`NAME=value`) the runtime created the container with, from its verbose status; undefined when not told. */
  containerEnv(id: string, o?: UnaryOptions): Promise<string[] | undefined>;
  /** The resource limits the container runs with (updates included), from its verbose status; undefined when not told. */
  containerResources(id: string, o?: UnaryOptions): Promise<LinuxContainerResources | undefined>;
  execSync(
    id: string,
    cmd: string[],
    timeoutSeconds: number,
    o?: UnaryOptions,
  ): Promise<{ stdout: Uint8Array; stderr: Uint8Array; exitCode: number }>;
  /** The streaming URL of an exec with stdin, stdout and stderr. */
  exec(id: string, cmd: string[], o?: UnaryOptions): Promise<string>;
  /** The image id, or undefined when the image is not present. */
  imageStatus(image: string, o?: UnaryOptions): Promise<string | undefined>;
  /** The image's id and repository digests, or undefined when it is not there. */
  imageInfo(image: string, o?: UnaryOptions): Promise<{ id: string; repoDigests: string[] } | undefined>;
  pullImage(image: string, auth: AuthConfig | undefined, o?: UnaryOptions): Promise<string>;
}

/** The parts of an OCI runtime spec berth reads. */
interface OciSpec {
  process?: { env?: unknown };
  linux?: {
    resources?: {
      memory?: { limit?: unknown; swap?: unknown };
      cpu?: { shares?: unknown; quota?: unknown; period?: unknown; cpus?: unknown };
    };
  };
}

let root: protobuf.Root | undefined;

function criRoot(): protobuf.Root {
  if (root === undefined) {
    root = protobuf.Root.fromJSON(CRI_DESCRIPTOR);
    root.resolveAll();
  }
  return root;
}

/** Decoded as berth reads messages: int64 as numbers, enums as names, absent fields as their defaults. */
const DECODED: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
};

function codec(service: "RuntimeService" | "ImageService", name: string): MethodCodec {
  const method = criRoot().lookupService(`runtime.v1.${service}`).methods[name];
  if (method === undefined) throw new Error(`CRI method ${service}.${name} is not in api.proto`);
  const request = method.resolvedRequestType as protobuf.Type;
  const response = method.resolvedResponseType as protobuf.Type;
  return {
    path: `/runtime.v1.${service}/${name}`,
    serialize: (v) => request.encode(request.fromObject(v as Record<string, unknown>)).finish(),
    deserialize: (b) => response.toObject(response.decode(b), DECODED),
  };
}

const rt = (name: string) => codec("RuntimeService", name);

/**
 * Wraps a gRPC client with the CRI calls.
 *
 * @example
 * ```ts
 * import { criClient } from "./cri-client.ts";
 * import type { GrpcClient } from "./grpc.ts";
 * const fake: GrpcClient = { unary: async () => ({ containers: [] }) as never, close: async () => {} };
 * const cri = criClient(fake);
 * if ((await cri.listContainers({})).length !== 0) throw new Error("unexpected");
 * ```
 */
export function criClient(grpc: GrpcClient): CriClient {
  const call = <T>(method: MethodCodec, request: unknown, o?: UnaryOptions) => grpc.unary<T>(method, request, o);
  /** The OCI spec the runtime keeps for a container (verbose status), or undefined when it does not tell. */
  async function runtimeSpec(id: string, o?: UnaryOptions): Promise<OciSpec | undefined> {
    const { info } = await call<{ info?: Record<string, string> }>(
      rt("ContainerStatus"),
      { containerId: id, verbose: true },
      o,
    );
    try {
      return (JSON.parse(info?.["info"] ?? "{}") as { runtimeSpec?: OciSpec }).runtimeSpec;
    } catch {
      return undefined;
    }
  }
  return {
    version: (o) => call(rt("Version"), { version: "v1" }, o),
    runPodSandbox: async (config, o) =>
      (await call<{ podSandboxId: string }>(rt("RunPodSandbox"), { config }, o)).podSandboxId,
    stopPodSandbox: async (id, o) => void (await call(rt("StopPodSandbox"), { podSandboxId: id }, o)),
    removePodSandbox: async (id, o) => void (await call(rt("RemovePodSandbox"), { podSandboxId: id }, o)),
    listPodSandbox: async (filter, o) =>
      (await call<{ items: PodSandbox[] }>(rt("ListPodSandbox"), { filter }, o)).items,
    createContainer: async (podSandboxId, config, sandboxConfig, o) =>
      (await call<{ containerId: string }>(rt("CreateContainer"), { podSandboxId, config, sandboxConfig }, o))
        .containerId,
    startContainer: async (id, o) => void (await call(rt("StartContainer"), { containerId: id }, o)),
    updateContainerResources: async (id, linux, o) =>
      void (await call(rt("UpdateContainerResources"), { containerId: id, linux }, o)),
    stopContainer: async (id, timeout, o) => void (await call(rt("StopContainer"), { containerId: id, timeout }, o)),
    removeContainer: async (id, o) => void (await call(rt("RemoveContainer"), { containerId: id }, o)),
    listContainers: async (filter, o) =>
      (await call<{ containers: Container[] }>(rt("ListContainers"), { filter }, o)).containers,
    async containerStatus(id, o) {
      try {
        return (await call<{ status: ContainerStatus | null }>(rt("ContainerStatus"), { containerId: id }, o)).status ??
          undefined;
      } catch (err) {
        if ((err as { grpcStatus?: number }).grpcStatus === 5) return undefined;
        throw err;
      }
    },
    async containerEnv(id, o) {
      const env = (await runtimeSpec(id, o))?.process?.env;
      return Array.isArray(env) ? env.filter((e): e is string => typeof e === "string") : undefined;
    },
    async containerResources(id, o) {
      const resources = (await runtimeSpec(id, o))?.linux?.resources;
      if (resources === undefined) return undefined;
      const { memory, cpu } = resources;
      const out: LinuxContainerResources = {};
      const put = (key: keyof LinuxContainerResources, value: unknown) => {
        if (typeof value === "number" && value !== 0) (out as Record<string, unknown>)[key] = value;
        if (typeof value === "string" && value !== "") (out as Record<string, unknown>)[key] = value;
      };
      put("memoryLimitInBytes", memory?.limit);
      put("memorySwapLimitInBytes", memory?.swap);
      put("cpuShares", cpu?.shares);
      put("cpuQuota", cpu?.quota);
      put("cpuPeriod", cpu?.period);
      put("cpusetCpus", cpu?.cpus);
      return out;
    },
    execSync: (id, cmd, timeout, o) => call(rt("ExecSync"), { containerId: id, cmd, timeout }, o),
    exec: async (id, cmd, o) =>
      (await call<{ url: string }>(rt("Exec"), { containerId: id, cmd, stdin: true, stdout: true, stderr: true }, o))
        .url,
    imageStatus: async (image, o) =>
      (await call<{ image: { id: string } | null }>(codec("ImageService", "ImageStatus"), { image: { image } }, o))
        .image?.id,
    imageInfo: async (image, o) => {
      const found = (await call<{ image: { id: string; repoDigests?: string[] } | null }>(
        codec("ImageService", "ImageStatus"),
        { image: { image } },
        o,
      )).image;
      return found === null || found === undefined ? undefined : { id: found.id, repoDigests: found.repoDigests ?? [] };
    },
    pullImage: async (image, auth, o) =>
      (await call<{ imageRef: string }>(codec("ImageService", "PullImage"), {
        image: { image },
        ...(auth === undefined ? {} : { auth }),
      }, o)).imageRef,
  };
}
