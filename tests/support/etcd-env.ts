/**
 * The real etcd brought up by `tests/env/etcd.sh up`: what it wrote to
 * `env.json`, and a plain `fetch` to its gateway so tests check what etcd
 * holds through another road than berth's own client.
 */
import { readFileSync } from "node:fs";

/** Everything `tests/env/etcd.sh` recorded. */
export interface EtcdTestEnv {
  dir: string;
  single: { endpoints: string[] };
  cluster: { endpoints: string[]; members: Array<{ name: string; endpoint: string; pidFile: string }> };
  secure: {
    endpoints: string[];
    prefix: string;
    ca: string;
    cert: string;
    key: string;
    user: string;
    passwordFile: string;
  };
}

/** Reads `${BERTH_ETCD_DIR:-/tmp/berth-etcd}/env.json`; throws when etcd is not up. */
export function loadEtcdEnv(): EtcdTestEnv {
  const file = `${process.env["BERTH_ETCD_DIR"] ?? "/tmp/berth-etcd"}/env.json`;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as EtcdTestEnv;
  } catch (cause) {
    throw new Error(`etcd for the tests is not up: run \`bash tests/env/etcd.sh up\` (no ${file})`, { cause });
  }
}

/** POSTs to a plain-HTTP member's gateway. */
export async function etcdPost(endpoint: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${endpoint}${path}`, { method: "POST", body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

/** A key as etcd holds it (value bytes and lease), or undefined. */
export async function etcdGet(
  endpoint: string,
  key: string,
): Promise<{ value: Buffer; modRevision: number; lease: string } | undefined> {
  const answer = await etcdPost(endpoint, "/v3/kv/range", { key: Buffer.from(key).toString("base64") });
  const kv = (answer["kvs"] as Array<Record<string, string>> | undefined)?.[0];
  if (kv === undefined) return undefined;
  return {
    value: Buffer.from(kv["value"] ?? "", "base64"),
    modRevision: Number(kv["mod_revision"]),
    lease: kv["lease"] ?? "0",
  };
}

/** Deletes every key under a prefix. */
export async function etcdDeletePrefix(endpoint: string, prefix: string): Promise<void> {
  const key = Buffer.from(prefix);
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  await etcdPost(endpoint, "/v3/kv/deleterange", { key: key.toString("base64"), range_end: end.toString("base64") });
}

/** The cluster member that leads now. */
export async function etcdLeader(env: EtcdTestEnv): Promise<{ name: string; endpoint: string; pidFile: string }> {
  for (const member of env.cluster.members) {
    try {
      const status = await etcdPost(member.endpoint, "/v3/maintenance/status", {});
      const header = status["header"] as { member_id: string };
      if (status["leader"] === header.member_id) return member;
    } catch {
      // a member down: ask the next
    }
  }
  throw new Error("no etcd member says it leads");
}
