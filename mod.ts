/**
 * berth: declare containers on many hosts and make the hosts match, by
 * talking directly to each host's container runtime, locally or through SSH.
 *
 * The cycle: validate -> {@link ContainersResource.checkCurrentState} ->
 * {@link ContainersResource.plan} -> {@link ContainersResource.apply} ->
 * persist {@link ContainersResource.stateToYaml}.
 *
 * @example
 * ```ts
 * import { fromYaml } from "@berthctl/berthctl";
 * // One container on this machine's engine (DOCKER_HOST, else /var/run/docker.sock); a host
 * // `node1: { ssh: { address: 10.0.0.2, privateKeyPath: ~/.ssh/id_ed25519 } }` works the same way.
 * const resource = fromYaml(`
 * hosts:
 *   local: { direct: {} }
 * containers:
 *   hello: { host: local, name: doc-example-hello, image: "berth-test:latest", init: true, args: [sleep, "3600"] }
 * `);
 * const stateFile = await Deno.makeTempFile({ suffix: ".yaml" });
 * try {
 *   await resource.checkCurrentState();
 *   const plan = resource.plan();
 *   if (!plan.empty) await resource.apply({ onState: (s) => console.log("now true:", Object.keys(s)) });
 *   await Deno.writeTextFile(stateFile, resource.stateToYaml());
 * } finally {
 *   await resource.close();
 * }
 * // A config without the container removes it again.
 * const removal = fromYaml("hosts: { local: { direct: {} } }\ncontainers: {}\n", {
 *   previousState: resource.currentState(),
 * });
 * try {
 *   await removal.deploy();
 * } finally {
 *   await removal.close();
 *   await Deno.remove(stateFile);
 * }
 * ```
 *
 * @module
 */
export * from "./core/errors.ts";
export * from "./core/model.ts";
export { parseDuration } from "./core/duration.ts";
export { configHash } from "./core/hash.ts";
export { hostKey, hostLabel } from "./core/host.ts";
export { type BerthConfig, configFromDocument, type ConfigOptions } from "./core/config.ts";
export { parseDocument, stateFromDocument, stateToYaml, stripSecrets } from "./core/serialize.ts";
export { type Problem, validateContainers as validate, ValidationError } from "./core/validate.ts";
export { ContainersResource, type ContainersResourceOptions, type PlanWithBasis } from "./engine/containers.ts";
export type { PlanBasis } from "./engine/basis.ts";
export type { HostConnection } from "./engine/session.ts";
export { fromYaml, type FromYamlOptions } from "./engine/from-yaml.ts";
export {
  type RecoveredContainer,
  type RecoveredKind,
  type RecoverOptions,
  recoverState,
  type RecoveryResult,
} from "./engine/recover.ts";
export { type Action, blockedChanges, type Plan, type PlannedChange } from "./engine/plan.ts";
export { rollbackState } from "./engine/rollback.ts";
export type { DiffLine } from "./engine/diff.ts";
export type { GateEventType } from "./engine/gate.ts";
export type { HostObjectRemoval, NetworkRemoval, VolumeRemoval } from "./engine/host-objects.ts";
export {
  type ApplyEvent,
  type ApplyOptions,
  type ApplyResult,
  applySucceeded,
  type ChangeResult,
} from "./engine/apply.ts";
export type { CheckOptions, NameHolder, Observation, ObservedState } from "./engine/observe.ts";
export { type LoadedState, readStateFile, writeStateFile } from "./store/state-file.ts";
export { readPlanFile, type SavedPlan, writePlanFile } from "./store/plan-file.ts";
export { type LockOptions, lockState, type StateLock } from "./store/lock.ts";
export { backendFromDocument, type BackendSpec, type EtcdBackendConfig, parseEtcdUrl } from "./core/backend-config.ts";
export type { HeldLock, LockHolder, StateBackend, StoredState } from "./store/backend.ts";
export { openBackend } from "./store/open-backend.ts";
export { DIGEST_KEY_VARIABLE, digestKeyPath, loadDigestKey } from "./store/digest-key.ts";
export { digestOf, isSealed, REDACTED, sealState, type SensitiveMarks } from "./core/sensitive.ts";
export type * from "./runtimes/runtime.ts";
export { loadRuntime, type LoadRuntimeOptions } from "./runtimes/registry.ts";
export type * from "./transports/transport.ts";
export { openTransport, type OpenTransportOptions } from "./transports/registry.ts";
export { VERSION } from "./version.ts";
