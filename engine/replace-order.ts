/**
 * The order of a recreate on one host: start-first (the new container starts
 * beside the old one, which keeps serving until the new one passed) or
 * stop-first (the old one is stopped first because the two would clash).
 * Pure: the plan shows it, the apply (engine/replace.ts) follows it.
 *
 * @module
 */
import type { HostConfiguredContainer } from "../core/model.ts";

/** How a recreate replaces the running container. */
export type RecreateOrder = "start-first" | "stop-first";

/** The order and, for stop-first, why. */
export interface OrderChoice {
  order: RecreateOrder;
  /** Why the old one must stop first; absent for start-first and for a declared order. */
  why?: string;
}

/**
 * The order of a recreate in place from `old` to `want`: the declared
 * `recreateOrder`, else stop-first when the two cannot run at once (the same
 * host port, `networkMode: host`, the same static address on a network, a
 * CRI host, whose containers use the host network), else start-first.
 */
export function recreateOrder(old: HostConfiguredContainer | undefined, want: HostConfiguredContainer): OrderChoice {
  const declared = want.container.config.recreateOrder;
  if (declared !== undefined) return { order: declared };
  if (want.container.runtime?.kubelet !== undefined) {
    return { order: "stop-first", why: "CRI containers use the host network" };
  }
  const a = old?.container.config ?? want.container.config;
  const b = want.container.config;
  if (a.networkMode === "host" || b.networkMode === "host") return { order: "stop-first", why: "networkMode host" };
  const ports = (c: typeof a) => new Set((c.ports ?? []).map((p) => `${p.port}/${p.protocol ?? "tcp"}`));
  const held = ports(a);
  const clash = [...ports(b)].filter((p) => held.has(p)).sort();
  if (clash.length > 0) return { order: "stop-first", why: `host port ${clash.join(", ")} held by the old one` };
  const addresses = (c: typeof a) =>
    new Set((c.networks ?? []).flatMap((n) => n.ipv4Address === undefined ? [] : [`${n.name}/${n.ipv4Address}`]));
  const taken = addresses(a);
  const same = [...addresses(b)].filter((x) => taken.has(x)).sort();
  if (same.length > 0) return { order: "stop-first", why: `static address ${same.join(", ")} held by the old one` };
  return { order: "start-first" };
}
