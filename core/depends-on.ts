/**
 * `dependsOn: [name]`: a container is created or started only after the
 * containers it names (on its host or any other) are done in the same apply,
 * or already run unchanged. Not part of the container's identity: changing
 * it recreates nothing. The names are the keys of the config's `containers:`.
 *
 * @module
 */
import type { Problem } from "./problem.ts";
import { containerNameRule } from "./rules.ts";
import { at, type Check, listOf, quote, report, string } from "./shape.ts";
import { suggest } from "./suggest.ts";

/** The check of a container's `dependsOn:` on its own (the names it refers to: {@link checkDependsOn}). */
export const dependsOnCheck: Check = listOf(string(containerNameRule), "container names");

/**
 * Checks the dependencies between containers: every name is a container's
 * (else did you mean), none twice, and no cycle (`a -> b -> a`).
 *
 * @param dependsOn Each container's `dependsOn`, by name.
 * @param pathOf Where a container's `dependsOn` is, for problems.
 * @param options `partial`: the containers are a part of the config, so unknown names are not reported.
 */
export function checkDependsOn(
  dependsOn: Readonly<Record<string, readonly string[] | undefined>>,
  pathOf: (name: string) => string,
  problems: Problem[],
  options: { partial?: boolean } = {},
): void {
  const names = Object.keys(dependsOn);
  for (const name of names) {
    const deps = dependsOn[name];
    deps?.forEach((dep, index) => {
      if (deps?.indexOf(dep) !== index) {
        report(problems, at(pathOf(name), index), `${quote(dep)} is listed twice; remove one`);
      } else if (dep === name) {
        report(
          problems,
          at(pathOf(name), index),
          `a container cannot depend on itself (${name} -> ${name}); remove it`,
        );
      } else if (!Object.hasOwn(dependsOn, dep) && options.partial !== true) {
        const guess = suggest(dep, names);
        const fix = guess === undefined ? "name a container of containers:" : `did you mean \`${guess}\`?`;
        report(problems, at(pathOf(name), index), `${quote(dep)} is not a container of this config; ${fix}`);
      }
    });
  }
  const cycle = findCycle(dependsOn);
  if (cycle !== undefined) {
    report(
      problems,
      pathOf(cycle[0] as string),
      `dependency cycle ${cycle.join(" -> ")}: no container of it could ever start; remove one of these dependencies`,
    );
  }
}

/**
 * The first cycle among the dependencies (`["a", "b", "a"]`), self-dependencies
 * left out; `undefined` when there is none. Names not in `dependsOn` end a path.
 */
export function findCycle(dependsOn: Readonly<Record<string, readonly string[] | undefined>>): string[] | undefined {
  const done = new Set<string>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    const at = path.indexOf(name);
    if (at >= 0) return [...path.slice(at), name];
    if (done.has(name) || !Object.hasOwn(dependsOn, name)) return undefined;
    for (const dep of dependsOn[name] ?? []) {
      if (dep === name) continue;
      const cycle = visit(dep, [...path, name]);
      if (cycle !== undefined) return cycle;
    }
    done.add(name);
    return undefined;
  };
  // A name without dependencies starts no cycle: only the others are sorted and visited from.
  for (const name of Object.keys(dependsOn).filter((n) => (dependsOn[n]?.length ?? 0) > 0).sort()) {
    const cycle = visit(name, []);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}
