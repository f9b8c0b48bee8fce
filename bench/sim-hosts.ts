/**
 * Simulated fleet for `run.sh --sim` (adapted from the shared scale-sim
 * reference): N real SSH servers (ssh2 `Server`) in one process on loopback
 * addresses, any password accepted, each serving `direct-streamlocal`
 * channels to /var/run/docker.sock as a minimal Docker Engine held in
 * memory: `/_ping`, `/version`, `GET /containers/json` (label filters),
 * `GET /containers/{id}/json`, `GET /images/{name}/json`, and the create,
 * start, stop, restart, rename and remove calls berth and the floor make; and an
 * SFTP subsystem over the host's files in memory (lstat, stat, open, read,
 * write, fstat, fsetstat, close, mkdir, remove, realpath and OpenSSH's
 * posix-rename). Helper containers and archives are not simulated.
 *
 * Usage: node sim-hosts.mjs --fleet FLEET.json --key HOSTKEY [--port 2222] [--net 127.77]
 *   prints "ready" once every host listens. On stdin, a line "dump" prints one
 *   JSON line: per host the containers (name, env, state, labels), the files,
 *   how many changing requests (create, start, stop, restart, remove, and SFTP
 *   writes) it took, and how many engine requests and SFTP sessions in all;
 *   and the most SSH connections open at once over all hosts.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import ssh2, { type SFTPWrapper } from "ssh2";
import { simAddress, type SimFleet } from "./sim-net.ts";

interface SimContainer {
  Id: string;
  Name: string;
  Image: string;
  Env: string[];
  Labels: Record<string, string>;
  State: "created" | "running" | "exited";
  StartedAt: string;
}

interface SimHost {
  containers: Map<string, SimContainer>;
  /** Path -> content; every parent of a path is a directory. */
  files: Map<string, Buffer>;
  /** Directories made over SFTP (besides the parents of files). */
  dirs: Set<string>;
  changes: number;
  /** Engine requests answered, and SFTP sessions opened. */
  requests: number;
  sftpSessions: number;
}

interface Reply {
  status: number;
  body: string;
}

const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value) });
const missing = (): Reply => json(404, { message: "No such container" });

function find(h: SimHost, idOrName: string): SimContainer | undefined {
  return h.containers.get(idOrName) ??
    [...h.containers.values()].find((c) => c.Name === `/${idOrName}` || c.Id.startsWith(idOrName));
}

/** Does `c` carry every `key=value` (or `key`) of the list filter? */
function matches(c: SimContainer, filters: string | null): boolean {
  if (filters === null) return true;
  const labels = (JSON.parse(filters) as { label?: string[] }).label ?? [];
  return labels.every((l) => {
    const [k, v] = l.split("=", 2) as [string, string | undefined];
    return v === undefined ? k in c.Labels : c.Labels[k] === v;
  });
}

/** One engine request, answered from the host's memory. */
function answer(h: SimHost, method: string, target: string, body: string): Reply {
  const url = new URL(target, "http://docker");
  const path = url.pathname.replace(/^\/v\d+\.\d+/, "");
  if (path === "/_ping") return { status: 200, body: "OK" };
  if (path === "/version") return json(200, { ApiVersion: "1.41", Version: "sim" });
  if (method === "GET" && path.startsWith("/images/")) return json(200, { Id: "sha256:sim" });
  if (method === "GET" && path === "/containers/json") {
    const rows = [...h.containers.values()].filter((c) => matches(c, url.searchParams.get("filters")));
    return json(
      200,
      rows.map((c) => ({ Id: c.Id, Names: [c.Name], Image: c.Image, State: c.State, Labels: c.Labels })),
    );
  }
  if (method === "POST" && path === "/containers/create") {
    const name = url.searchParams.get("name") ?? "";
    if (find(h, name) !== undefined) return json(409, { message: `Conflict. The container name "/${name}" is in use` });
    const spec = JSON.parse(body) as { Image: string; Env?: string[]; Labels?: Record<string, string> };
    const c: SimContainer = {
      Id: randomBytes(32).toString("hex"),
      Name: `/${name}`,
      Image: spec.Image,
      Env: spec.Env ?? [],
      Labels: spec.Labels ?? {},
      State: "created",
      StartedAt: "0001-01-01T00:00:00Z",
    };
    h.containers.set(c.Id, c);
    h.changes++;
    return json(201, { Id: c.Id, Warnings: [] });
  }
  const m = /^\/containers\/([^/]+)(\/[a-z]+)?$/.exec(path);
  const c = m === null ? undefined : find(h, decodeURIComponent(m[1] as string));
  if (m === null) return json(404, { message: `simulated engine: no ${method} ${path}` });
  if (c === undefined) return missing();
  const action = `${method} ${m[2] ?? ""}`;
  if (action === "GET /json") {
    return json(200, {
      Id: c.Id,
      Name: c.Name,
      State: { Status: c.State, Running: c.State === "running", StartedAt: c.StartedAt },
      Config: { Image: c.Image, Env: c.Env, Labels: c.Labels },
    });
  }
  h.changes++;
  switch (action) {
    case "POST /start":
    case "POST /restart":
      if (c.State === "running" && action === "POST /start") return { status: 304, body: "" };
      c.State = "running";
      c.StartedAt = new Date().toISOString();
      return { status: 204, body: "" };
    case "POST /rename": {
      // berth renames the old container aside during a recreate (engine/replace.ts).
      const name = url.searchParams.get("name") ?? "";
      if (find(h, name) !== undefined) return json(409, { message: `Conflict. The name "/${name}" is in use` });
      c.Name = `/${name}`;
      return { status: 204, body: "" };
    }
    case "POST /stop":
      if (c.State !== "running") return { status: 304, body: "" };
      c.State = "exited";
      return { status: 204, body: "" };
    case "DELETE ":
      if (c.State === "running" && url.searchParams.get("force") !== "true") {
        return json(409, { message: "You cannot remove a running container: stop it first or use force" });
      }
      h.containers.delete(c.Id);
      return { status: 204, body: "" };
  }
  h.changes--;
  return json(404, { message: `simulated engine: no ${method} ${path}` });
}

const REASONS: Record<number, string> = { 200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified" };

/** HTTP/1.1 over one channel: requests with a Content-Length body (or none), kept alive. */
function serveEngine(stream: ssh2.ServerChannel, h: SimHost): void {
  let buf = Buffer.alloc(0);
  stream.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      const body = buf.subarray(end + 4, end + 4 + length).toString();
      buf = buf.subarray(end + 4 + length);
      h.requests++;
      const [method = "GET", target = "/"] = head.split(" ");
      let reply: Reply;
      try {
        reply = /\r\ntransfer-encoding:\s*chunked/i.test(head)
          ? json(501, { message: "simulated engine: no chunked request bodies" })
          : answer(h, method, target, body);
      } catch (err) {
        reply = json(500, { message: String(err) });
      }
      const type = reply.body === "OK" ? "text/plain" : "application/json";
      stream.write(
        `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? "Error"}\r\nContent-Type: ${type}\r\n` +
          `Content-Length: ${Buffer.byteLength(reply.body)}\r\nApi-Version: 1.41\r\n\r\n${reply.body}`,
      );
    }
  });
  stream.on("error", () => {});
}

const { STATUS_CODE, OPEN_MODE } = ssh2.utils.sftp;

/**
 * ssh2's server answers INIT with a VERSION naming no extension, and its
 * client then refuses posix-rename (what berth writes files with): this
 * channel's VERSION packet is swapped for one that names it.
 */
function announcePosixRename(sftp: SFTPWrapper): void {
  const name = Buffer.from("posix-rename@openssh.com");
  const version = Buffer.alloc(4 + 1 + 4 + 4 + name.length + 4 + 1);
  let p = version.writeUInt32BE(version.length - 4, 0);
  p = version.writeUInt8(2, p); // SSH_FXP_VERSION
  p = version.writeUInt32BE(3, p);
  p = version.writeUInt32BE(name.length, p);
  p += name.copy(version, p);
  p = version.writeUInt32BE(1, p);
  version.write("1", p);
  const inner = sftp as unknown as {
    _protocol: Record<string, unknown> & { channelData(id: number, d: Buffer): void };
  };
  const protocol = inner._protocol;
  inner._protocol = new Proxy(protocol, {
    get(target, key) {
      if (key === "channelData") {
        return (id: number, data: Buffer) =>
          target.channelData(id, data.length === 9 && data[4] === 2 ? version : data);
      }
      const value = target[key as string];
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** SFTP over the host's files: regular files 0600 and directories 0755, owned by root. */
function serveSftp(sftp: SFTPWrapper, h: SimHost): void {
  announcePosixRename(sftp);
  const handles = new Map<string, { path: string; write?: Buffer }>();
  let next = 0;
  const isDir = (path: string) =>
    path === "/" || h.dirs.has(path) || [...h.files.keys()].some((f) => f.startsWith(`${path}/`));
  const attrs = (path: string) => {
    const file = h.files.get(path);
    if (file !== undefined) return { mode: 0o100600, uid: 0, gid: 0, size: file.length, atime: 0, mtime: 0 };
    return isDir(path) ? { mode: 0o040755, uid: 0, gid: 0, size: 4096, atime: 0, mtime: 0 } : undefined;
  };
  const ok = (reqid: number) => sftp.status(reqid, STATUS_CODE.OK);
  const stat = (reqid: number, path: string) => {
    const a = attrs(path);
    if (a === undefined) sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    else sftp.attrs(reqid, a);
  };
  const opened = (reqid: number, handle: Buffer) => {
    const open = handles.get(handle.toString());
    if (open === undefined) sftp.status(reqid, STATUS_CODE.FAILURE, "bad handle");
    return open;
  };
  sftp.on("LSTAT", stat);
  sftp.on("STAT", stat);
  sftp.on("REALPATH", (reqid, path) => sftp.name(reqid, [{ filename: path, longname: path, attrs: {} as never }]));
  sftp.on("OPEN", (reqid, path, flags) => {
    const handle = String(next++);
    if (flags === OPEN_MODE.READ) {
      if (!h.files.has(path)) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
      handles.set(handle, { path });
    } else {
      if ((flags & OPEN_MODE.EXCL) !== 0 && attrs(path) !== undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
      h.changes++;
      handles.set(handle, { path, write: Buffer.alloc(0) });
    }
    sftp.handle(reqid, Buffer.from(handle));
  });
  sftp.on("FSTAT", (reqid, handle) => {
    const open = opened(reqid, handle);
    if (open !== undefined) stat(reqid, open.path);
  });
  sftp.on("READ", (reqid, handle, offset, length) => {
    const open = opened(reqid, handle);
    if (open === undefined) return;
    const content = h.files.get(open.path) ?? Buffer.alloc(0);
    if (offset >= content.length) sftp.status(reqid, STATUS_CODE.EOF);
    else sftp.data(reqid, content.subarray(offset, offset + length));
  });
  sftp.on("WRITE", (reqid, handle, offset, data) => {
    const open = opened(reqid, handle);
    if (open?.write === undefined) return;
    const grown = Buffer.alloc(Math.max(open.write.length, offset + data.length));
    open.write.copy(grown);
    data.copy(grown, offset);
    open.write = grown;
    ok(reqid);
  });
  sftp.on("FSETSTAT", (reqid, handle) => opened(reqid, handle) && ok(reqid));
  sftp.on(
    "SETSTAT",
    (reqid, path) => attrs(path) === undefined ? sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE) : ok(reqid),
  );
  sftp.on("CLOSE", (reqid, handle) => {
    const open = opened(reqid, handle);
    if (open === undefined) return;
    if (open.write !== undefined) h.files.set(open.path, open.write);
    handles.delete(handle.toString());
    ok(reqid);
  });
  sftp.on("MKDIR", (reqid, path) => {
    if (attrs(path) !== undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
    h.changes++;
    h.dirs.add(path);
    ok(reqid);
  });
  sftp.on("REMOVE", (reqid, path) => {
    if (!h.files.delete(path)) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    h.changes++;
    ok(reqid);
  });
  sftp.on("EXTENDED", (reqid, name, data) => {
    if (name !== "posix-rename@openssh.com" || data === undefined) {
      return sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED);
    }
    const from = data.subarray(4, 4 + data.readUInt32BE(0)).toString();
    const rest = data.subarray(4 + Buffer.byteLength(from));
    const to = rest.subarray(4, 4 + rest.readUInt32BE(0)).toString();
    const content = h.files.get(from);
    if (content === undefined) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    h.files.delete(from);
    h.files.set(to, content);
    h.changes++;
    ok(reqid);
  });
  for (const unsupported of ["RMDIR", "RENAME", "OPENDIR", "READLINK", "SYMLINK"]) {
    sftp.on(unsupported as "RMDIR", (reqid: number) => sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED));
  }
}

function main(): void {
  const { values: o } = parseArgs({
    options: {
      fleet: { type: "string" },
      key: { type: "string" },
      port: { type: "string", default: "2222" },
      net: { type: "string", default: "127.77" },
    },
  });
  if (o.fleet === undefined || o.key === undefined) {
    throw new Error("usage: sim-hosts --fleet FLEET.json --key HOSTKEY [--port P] [--net A.B]");
  }
  const fleet = JSON.parse(readFileSync(o.fleet, "utf8")) as SimFleet;
  const hostKey = readFileSync(o.key);
  const port = Number(o.port);
  const hosts: SimHost[] = fleet.hosts.map((cs, i) => ({
    changes: 0,
    requests: 0,
    sftpSessions: 0,
    dirs: new Set<string>(),
    files: new Map(Object.entries(fleet.files?.[i] ?? {}).map(([path, text]) => [path, Buffer.from(text)])),
    containers: new Map(cs.map((c) => {
      const sc: SimContainer = {
        Id: c.id,
        Name: `/${c.name}`,
        Image: fleet.image,
        Env: c.env,
        Labels: c.labels,
        State: "running",
        StartedAt: "2026-01-01T00:00:00Z",
      };
      return [c.id, sc];
    })),
  }));
  let listening = 0;
  /** SSH connections open now, and the most open at once since the start. */
  let open = 0;
  let mostOpen = 0;
  hosts.forEach((h, i) => {
    const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
      mostOpen = Math.max(mostOpen, ++open);
      client.once("close", () => open--);
      client.on("authentication", (ctx) => ctx.accept());
      client.on("ready", () => {
        client.on("session", (accept) => {
          const session = accept();
          session.on("exec", (acc) => {
            const st = acc();
            st.exit(0);
            st.end();
          });
          session.on("sftp", (acc) => {
            h.sftpSessions++;
            serveSftp(acc(), h);
          });
        });
        client.on("openssh.streamlocal", (accept) => serveEngine(accept(), h));
      });
      client.on("error", () => {});
    });
    server.on("error", (err: Error) => {
      process.stderr.write(`host ${i} (${simAddress(o.net as string, i)}:${port}): ${err.message}\n`);
      process.exit(1);
    });
    server.listen(port, simAddress(o.net as string, i), () => {
      if (++listening === hosts.length) process.stdout.write("ready\n");
    });
  });
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() !== "dump") return;
    const dumped = hosts.map((h) => ({
      changes: h.changes,
      requests: h.requests,
      sftpSessions: h.sftpSessions,
      files: Object.fromEntries([...h.files].map(([path, content]) => [path, content.toString()])),
      containers: [...h.containers.values()].map((c) => ({
        name: c.Name.slice(1),
        env: c.Env,
        state: c.State,
        labels: c.Labels,
      })),
    }));
    process.stdout.write(`${JSON.stringify({ hosts: dumped, mostOpen })}\n`);
  }).on("close", () => process.exit(0));
}

main();
