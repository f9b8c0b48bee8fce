/**
 * What the simulator, its inputs and the simulated floor share: where host
 * `i` listens and what the simulator serves.
 *
 * @module
 */

/** What the simulator serves: per host its containers. */
export interface SimFleet {
  image: string;
  hosts: Array<Array<{ id: string; name: string; env: string[]; labels: Record<string, string> }>>;
  /** Per host, the files it holds (path -> content), when the workload has files. */
  files?: Array<Record<string, string>>;
}

/** Host `i`'s loopback address under `net` ("127.77" -> 127.77.0.1, ..., 250 per /24). */
export const simAddress = (net: string, i: number): string => `${net}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
