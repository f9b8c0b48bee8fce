/**
 * The kubelet-style runtime plugin: containers as CRI v1 pod sandboxes
 * (containerd, CRI-O) over the runtime's unix socket, files through `tar`
 * exec'd in the container. Reached through any transport, SSH included.
 *
 * @module
 */
export { kubeletRuntime, type KubeletRuntimeOptions } from "./kubelet-runtime.ts";
