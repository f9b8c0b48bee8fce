/**
 * Progress of image pulls for the terminal: per host and image, what has
 * been downloaded so far, at most once every few seconds, so a long pull
 * shows it is alive instead of looking hung (it has no overall deadline,
 * only an idle one).
 *
 * @module
 */
import type { PullProgress } from "../runtimes/docker/image.ts";

/** What a progress line tells: the pull, and how far it is (`1.5 of 4.0 MB downloaded`, or the engine's status). */
export interface PullShown {
  host: string;
  image: string;
  done: string;
}

interface Pull {
  layers: Map<string, { current: number; total: number }>;
  last: number;
}

/**
 * A progress callback that writes one line per pull every `everyMs`
 * (the first after `everyMs`: a quick pull prints nothing).
 */
export function pullProgressReporter(
  write: (line: string, pull: PullShown) => void,
  everyMs = 5000,
): (host: string, image: string, progress: PullProgress) => void {
  const pulls = new Map<string, Pull>();
  return (host, image, p) => {
    const key = `${host} ${image}`;
    let pull = pulls.get(key);
    if (pull === undefined) {
      pull = { layers: new Map(), last: Date.now() };
      pulls.set(key, pull);
    }
    const total = p.progressDetail?.total;
    if (p.id !== undefined && p.status === "Downloading" && total !== undefined && total > 0) {
      pull.layers.set(p.id, { current: p.progressDetail?.current ?? 0, total });
    } else if (p.id !== undefined && (p.status === "Download complete" || p.status === "Pull complete")) {
      const layer = pull.layers.get(p.id);
      if (layer !== undefined) layer.current = layer.total;
    }
    const now = Date.now();
    if (now - pull.last < everyMs) return;
    pull.last = now;
    let current = 0;
    let size = 0;
    for (const layer of pull.layers.values()) {
      current += layer.current;
      size += layer.total;
    }
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const done = size === 0 ? p.status ?? "waiting for the registry" : `${mb(current)} of ${mb(size)} MB downloaded`;
    write(`    pulling image "${image}" on host ${host}: ${done}`, { host, image, done });
  };
}
