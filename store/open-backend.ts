/**
 * The backend a spec names.
 *
 * @module
 */
import { type BackendSpec, describeBackend } from "../core/backend-config.ts";
import type { StateBackend } from "./backend.ts";
import { EtcdBackend } from "./etcd-backend.ts";
import { FileBackend } from "./file-backend.ts";

/** Opens the backend a spec names (nothing is contacted yet). */
export function openBackend(spec: BackendSpec): StateBackend {
  return "file" in spec ? new FileBackend(spec.file, spec.format) : new EtcdBackend(spec.etcd, describeBackend(spec));
}
