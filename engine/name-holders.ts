/**
 * Who holds desired names that berth's own listing of a host does not show (a user's container, or one
 * without berth's labels): on a first converge every name is such a name. One name-filtered list per
 * runtime answers them all, asked once, on first need; a runtime that cannot filter by name is asked name
 * by name.
 *
 * @module
 */
import { signalOption } from "../core/signal.ts";
import type { ObservedContainer, Runtime } from "../runtimes/runtime.ts";

/** Finds the holder of a name on a runtime; `unlisted` gives the names to ask together (the listing lacks them). */
export type NameHolderOf = (runtime: Runtime, name: string, unlisted: () => string[]) => Promise<
  ObservedContainer | undefined
>;

/** A lookup that asks each runtime once, for every name `unlisted` gives when it is first needed. */
export function nameHolders(signal?: AbortSignal): NameHolderOf {
  const asked = new Map<Runtime, Promise<Map<string, ObservedContainer>>>();
  return async (runtime, name, unlisted) => {
    if (runtime.listNamed === undefined) return await runtime.inspect(name, signalOption(signal));
    let holders = asked.get(runtime);
    if (holders === undefined) {
      const names = [...new Set([name, ...unlisted()])];
      holders = runtime.listNamed(names, signalOption(signal)).then((all) => new Map(all.map((c) => [c.name, c])));
      asked.set(runtime, holders);
    }
    return (await holders).get(name);
  };
}
