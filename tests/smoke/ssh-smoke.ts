/**
 * Smoke check of the SSH transport on any runtime, also as a compiled
 * binary: connect to the first test host, GET /_ping on its engine through
 * an SSH channel to /var/run/docker.sock, print `OK`.
 */
import { request } from "node:http";
import { sshTransport } from "../../transports/ssh/mod.ts";
import { loadTestEnv } from "../support/env.ts";

const env = loadTestEnv();
const host = env.hosts[0];
if (host === undefined) throw new Error("no test host in env.json");
const ssh = sshTransport(
  {
    address: host.address,
    port: host.port,
    user: env.ssh.user,
    privateKeyPath: env.ssh.privateKeyPath,
    knownHostsFile: env.ssh.knownHostsFile,
    retryTimeout: "10s",
  },
  { env: {} },
);
try {
  const started = performance.now();
  await ssh.connect({ signal: AbortSignal.timeout(20_000) });
  const connected = performance.now();
  const socket = await ssh.openUnixSocket("/var/run/docker.sock", { signal: AbortSignal.timeout(10_000) });
  const opened = performance.now();
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({
      createConnection: () => socket as never,
      path: "/_ping",
      headers: { host: "docker" },
      timeout: 10_000,
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on(
        "end",
        () => (res.statusCode === 200
          ? resolve(text)
          : reject(new Error(`GET /_ping: HTTP ${res.statusCode}: ${text}`))),
      );
    });
    req.on("timeout", () => req.destroy(new Error("GET /_ping: no answer in 10s")));
    req.on("error", reject);
    req.end();
  });
  console.error(
    `ssh-smoke: ${ssh.description}: handshake ${(connected - started).toFixed(0)}ms, channel ${
      (opened - connected).toFixed(1)
    }ms`,
  );
  console.log(body);
} finally {
  await ssh.close();
}
