/**
 * User-defined networks in berth's config: declared once at the top level
 * (`networks: { backend: { driver, subnet, internal } }`), joined by name
 * (`networks: [{ name: backend, aliases: [db], ipv4Address: 10.20.0.5 }]`).
 * Reading the config puts each declaration into the attachments that use
 * it, so the runtime creates the network, on each host where a container
 * joins it, when it is missing.
 *
 * @module
 */
import type { ContainersState, NetworkAttachment } from "./model.ts";
import type { Problem } from "./problem.ts";
import { inSubnet, ipv4SubnetRule, networkNameRule } from "./rules.ts";
import { at, boolean, type Fields, isMapping, mapOf, mapping, own, quote, report, string } from "./shape.ts";
import { suggest } from "./suggest.ts";

/** A network as `networks:` declares it. */
export interface NetworkDeclaration {
  /** Network driver; `bridge` when not set. */
  driver?: string;
  /** IPv4 subnet (CIDR); the engine picks one when not set. Needed for static addresses. */
  subnet?: string;
  /** No route out of the network. */
  internal?: boolean;
}

const NETWORK_DECLARATION_FIELDS: Fields = {
  driver: { check: string(), description: "Network driver; bridge when not set." },
  subnet: {
    check: string(ipv4SubnetRule),
    description: 'IPv4 subnet, such as "10.20.0.0/24"; needed for static addresses.',
  },
  internal: { check: boolean, description: "No route out of the network." },
};

/** The check of the top-level `networks:`. */
export const networksCheck = mapOf(
  networkNameRule,
  mapping(NETWORK_DECLARATION_FIELDS),
  "networks (name: {driver, subnet, internal}, or {})",
  { pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]*$" },
);

/**
 * Every network the raw config's containers join is declared (else: did you
 * mean), leaves driver, subnet and internal to the declaration, has its
 * static address in the declared subnet, and no two containers of one host
 * ask for the same static address on one network.
 */
export function checkNetworkReferences(doc: Record<string, unknown>, problems: Problem[]): void {
  const raw = own(doc, "networks");
  const declared = (isMapping(raw) ? raw : {}) as Record<string, NetworkDeclaration>;
  const containers = own(doc, "containers");
  if (!isMapping(containers)) return;
  const taken = new Map<string, string>();
  for (const name of Object.keys(containers)) {
    const entry = containers[name];
    const networks = isMapping(entry) ? own(entry, "networks") : undefined;
    if (!Array.isArray(networks)) continue;
    networks.forEach((item: unknown, index) => {
      if (!isMapping(item)) return;
      const path = at(at(at("containers", name), "networks"), index);
      for (const key of ["driver", "subnet", "internal"]) {
        if (own(item, key) !== undefined) {
          report(problems, at(path, key), `declare the network's ${key} under networks: instead`);
        }
      }
      const network = own(item, "name");
      if (typeof network !== "string") return;
      const declaration = Object.hasOwn(declared, network) ? declared[network] : undefined;
      if (declaration === undefined) {
        const guess = suggest(network, Object.keys(declared));
        const fix = guess !== undefined ? `did you mean \`${guess}\`?` : `declare it: networks: { ${network}: {} }`;
        report(problems, at(path, "name"), `network ${quote(network)} is not declared under networks:; ${fix}`);
        return;
      }
      const ip = own(item, "ipv4Address");
      if (typeof ip !== "string" || ip === "") return;
      const subnet = declaration.subnet;
      if (subnet === undefined) {
        report(
          problems,
          at(path, "ipv4Address"),
          `a static address needs the network's subnet: set networks.${network}.subnet`,
        );
      } else if (ipv4SubnetRule(subnet) === undefined && !inSubnet(ip, subnet)) {
        report(
          problems,
          at(path, "ipv4Address"),
          `${quote(ip)} is not in network ${network}'s subnet ${subnet}: pick one in it`,
        );
      }
      const key = JSON.stringify([own(entry as Record<string, unknown>, "host"), network, ip]);
      const holder = taken.get(key);
      if (holder !== undefined) {
        report(
          problems,
          at(path, "ipv4Address"),
          `${quote(ip)} on network ${network} is already container ${
            quote(holder)
          }'s on this host: give each its own address`,
        );
      } else taken.set(key, name);
    });
  }
}

/** Puts each network's declaration (driver, subnet, internal) into the attachments that use it. */
export function applyNetworkDeclarations(state: ContainersState, networks: Record<string, NetworkDeclaration>): void {
  if (Object.keys(networks).length === 0) return; // nothing declared, so no attachment names a declaration
  for (const hcc of Object.values(state)) {
    const joined = hcc.container.config.networks;
    if (joined === undefined) continue;
    hcc.container.config.networks = joined.map((network): NetworkAttachment => {
      const declared = Object.hasOwn(networks, network.name) ? networks[network.name] : undefined;
      if (declared === undefined) return network;
      return {
        ...network,
        ...(declared.driver !== undefined && declared.driver !== "" && { driver: declared.driver }),
        ...(declared.subnet !== undefined && { subnet: declared.subnet }),
        ...(declared.internal === true && { internal: true }),
      };
    });
  }
}
