/**
 * The order of an apply: which step runs on which host's queue, every
 * host's removals before anything else, a move split into its removal on the
 * old host and its create on the new one, and how many steps run at once.
 *
 * @module
 */
import { BerthError } from "../core/errors.ts";
import type { ContainersState, HostConfiguredContainer } from "../core/model.ts";
import { hostKey } from "../core/host.ts";
import { mapLimit } from "./limit.ts";
import type { PlannedChange } from "./plan.ts";

/** What the schedule runs: the steps, and how a change's outcome is reported. */
export interface Steps {
  /** Carries out `step` for `change` and reports it; true when it succeeded. */
  run(change: PlannedChange, step: () => Promise<void>): Promise<boolean>;
  /** Reports `change` as failed without running it. */
  fail(change: PlannedChange, error: BerthError): void;
  remove(name: string, hcc: HostConfiguredContainer, id: string): Promise<void>;
  create(change: PlannedChange, want: HostConfiguredContainer): Promise<void>;
  /** Any other change on one host (create, recreate in place, start, update-files). */
  change(
    change: PlannedChange,
    want: HostConfiguredContainer,
    prev: HostConfiguredContainer | undefined,
  ): Promise<void>;
}

/** How many steps run at once. */
export interface Concurrency {
  /** Hosts worked on at once. */
  hosts: number;
  /** Steps of one host run at once, started in order. */
  perHost: number;
}

type Queue = { removals: Array<() => Promise<void>>; others: Array<() => Promise<void>> };

/**
 * Runs the changes that act on hosts. Every host's removals run first (also
 * the old side of a move), then everything else, so a move's create never
 * waits on a host that has not had its turn yet; a move's create runs only
 * when its removal succeeded.
 *
 * @param work Changes that act on hosts (not `nothing`, `forget` or `blocked`).
 * @param current The previous state: where removed and moved containers are.
 */
export async function runScheduled(
  work: PlannedChange[],
  desired: ContainersState,
  current: ContainersState,
  steps: Steps,
  concurrency: Concurrency,
): Promise<void> {
  const removed = new Map<string, boolean>();
  const queues = new Map<string, Queue>();
  const enqueue = (key: string, step: () => Promise<void>, removal = false) => {
    const queue = queues.get(key) ?? { removals: [], others: [] };
    (removal ? queue.removals : queue.others).push(step);
    queues.set(key, queue);
  };

  const ordered = [...work.filter((c) => c.action === "remove"), ...work.filter((c) => c.action !== "remove")];
  for (const c of ordered) {
    const want = desired[c.name];
    const prev = current[c.name];
    if (c.action === "remove") {
      const hcc = prev as HostConfiguredContainer;
      enqueue(
        hostKey(hcc.host),
        () =>
          steps.run(c, async () => {
            await steps.remove(c.name, hcc, c.replaces as string);
            // An old container an interrupted recreate set aside goes with it.
            if (c.aside !== undefined && c.aside.id !== c.replaces) await steps.remove(c.name, hcc, c.aside.id);
          }).then(() => {}),
        true,
      );
    } else if (c.action === "recreate" && c.fromHost !== undefined) {
      const from = prev as HostConfiguredContainer;
      const removal: PlannedChange = { ...c, action: "remove", host: c.fromHost, reasons: [`moves to host ${c.host}`] };
      enqueue(
        hostKey(from.host),
        async () =>
          void removed.set(c.name, await steps.run(removal, () => steps.remove(c.name, from, c.replaces as string))),
        true,
      );
      enqueue(hostKey((want as HostConfiguredContainer).host), async () => {
        if (removed.get(c.name) !== true) {
          const error = new BerthError(
            "CONFLICT",
            `not created on host ${c.host}: removing it from host ${c.fromHost} failed first`,
            { container: c.name },
          );
          steps.fail(c, error);
          return;
        }
        await steps.run(c, () => steps.create(c, want as HostConfiguredContainer));
      });
    } else {
      const hcc = want as HostConfiguredContainer;
      enqueue(hostKey(hcc.host), () => steps.run(c, () => steps.change(c, hcc, prev)).then(() => {}));
    }
  }

  const hosts = [...queues.values()];
  const { perHost } = concurrency;
  await mapLimit(hosts, concurrency.hosts, (queue) => mapLimit(queue.removals, perHost, (step) => step()));
  await mapLimit(hosts, concurrency.hosts, (queue) => mapLimit(queue.others, perHost, (step) => step()));
}
