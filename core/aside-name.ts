/**
 * The reserved name of an old container set aside during a recreate
 * (`<name>.berth-old-<id8>`): the engine gives it (engine/replace.ts),
 * runtimes that cannot rename report it (runtimes/kubelet), and no
 * configured container may take it (core/rules.ts).
 *
 * @module
 */

/** The reserved name a recreate gives the old container `id` named `name`. */
export function asideName(name: string, id: string): string {
  return `${name}.berth-old-${id.slice(0, 8)}`;
}

/** True for a name berth reserves for old containers set aside. */
export function isAsideName(name: string): boolean {
  return /\.berth-old-[0-9a-f]{8}$/.test(name);
}

/** True for the reserved name of an old container of `of` set aside. */
export function isAsideNameOf(name: string, of: string): boolean {
  return isAsideName(name) && name.startsWith(`${of}.berth-old-`);
}
