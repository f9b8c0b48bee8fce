/**
 * The Docker runtime plugin: speaks the Docker Engine HTTP API over any
 * duplex stream a transport hands out (unix socket, TCP, TLS, SSH channel).
 *
 * @module
 */
export { dockerRuntime, type DockerRuntimeOptions } from "./docker-runtime.ts";
export type { PullProgress } from "./image.ts";
