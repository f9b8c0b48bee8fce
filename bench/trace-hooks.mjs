/**
 * A trace of one berth run without touching berth: preloaded into Node
 * (`node --import ./bench/trace-hooks.mjs dist/cli.js ...`) or Bun
 * (`bun --preload ...`), it appends one line per event to the file named by
 * BERTH_BENCH_TRACE: milliseconds since the process started, the host, and
 * what happened (SSH connect and ready, channel opens, each engine request
 * and its response status, SFTP operations, local file writes, exit).
 * `bench/trace.ts` runs the scenarios with it and summarises the lines.
 *
 * Plain JavaScript so that it adds no loader to the start-up it measures.
 */
import { appendFileSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";

const out = process.env.BERTH_BENCH_TRACE;
if (out !== undefined && out !== "") install(out);

function install(file) {
  const lines = [];
  const now = () => performance.now().toFixed(1);
  const log = (host, what) => lines.push(`${now()}\t${host}\t${what}`);
  const write = (what) => {
    log("-", what);
    appendFileSync(file, `${lines.join("\n")}\n`);
    lines.length = 0;
  };
  log("-", "preload");
  process.on("beforeExit", () => log("-", "beforeExit"));
  process.on("exit", (code) => write(`exit ${code}`));

  const require = createRequire(import.meta.url);
  const fs = require("node:fs");
  traceFloor(require, log);
  const ssh2 = require("ssh2");
  const { Client } = ssh2;
  const hostOf = new WeakMap();
  const connect = Client.prototype.connect;
  Client.prototype.connect = function (cfg) {
    const host = `${cfg.host ?? (cfg.sock ? "via-jump" : "?")}`;
    hostOf.set(this, host);
    log(host, "ssh connect");
    this.once("ready", () => log(host, "ssh ready"));
    this.once("close", () => log(host, "ssh close"));
    return connect.apply(this, arguments);
  };
  const fwd = Client.prototype.openssh_forwardOutStreamLocal;
  Client.prototype.openssh_forwardOutStreamLocal = function (path, cb) {
    const host = hostOf.get(this) ?? "?";
    log(host, `channel open ${path}`);
    return fwd.call(this, path, (err, stream) => {
      log(host, err ? `channel failed ${err.message}` : "channel ready");
      if (stream) traceHttp(host, stream);
      cb(err, stream);
    });
  };
  const end = Client.prototype.end;
  Client.prototype.end = function () {
    log(hostOf.get(this) ?? "?", "ssh end");
    return end.apply(this, arguments);
  };
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write;
    stream.write = function (chunk) {
      log("-", `${stream === process.stdout ? "stdout" : "stderr"} ${String(chunk).split("\n")[0].slice(0, 60)}`);
      return write.apply(this, arguments);
    };
  }
  const sftp = Client.prototype.sftp;
  Client.prototype.sftp = function (cb) {
    const host = hostOf.get(this) ?? "?";
    log(host, "sftp open");
    return sftp.call(this, (err, session) => {
      log(host, err ? `sftp failed ${err.message}` : "sftp ready");
      if (session) traceSftp(host, session);
      cb(err, session);
    });
  };

  function traceHttp(host, stream) {
    const pending = [];
    const w = stream.write;
    stream.write = function (chunk) {
      const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("latin1", 0, 16384) : "";
      const m = /^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP/.exec(text);
      if (m) {
        const path = m[2].replace(/\/v1\.\d+/, "").replace(/[0-9a-f]{64}/g, "<id>");
        pending.push(`${m[1]} ${decodeURIComponent(path)}`);
        log(host, `> ${pending.at(-1)}`);
      }
      return w.apply(this, arguments);
    };
    stream.on("data", (chunk) => {
      const m = /^HTTP\/1\.[01] (\d+)/.exec(chunk.toString("latin1", 0, 20));
      if (m) log(host, `< ${m[1]} ${pending.shift() ?? ""}`);
    });
  }

  function traceSftp(host, session) {
    for (
      const name of [
        "open",
        "close",
        "readFile",
        "writeFile",
        "stat",
        "lstat",
        "rename",
        "mkdir",
        "readdir",
        "chmod",
        "chown",
        "fchmod",
        "fchown",
        "fstat",
        "unlink",
        "realpath",
        "ext_openssh_rename",
        "ext_openssh_fsync",
        "read",
        "write",
      ]
    ) {
      const f = session[name];
      if (typeof f !== "function") continue;
      session[name] = function (...args) {
        const cb = args.at(-1);
        const what = typeof args[0] === "string" ? `${name} ${args[0]}` : name;
        log(host, `sftp> ${what}`);
        if (typeof cb === "function") {
          args[args.length - 1] = function (err) {
            log(host, `sftp< ${what}${err ? ` ${err.message}` : ""}`);
            return cb.apply(this, arguments);
          };
        }
        return f.apply(this, args);
      };
    }
  }

  // Local writes: the state file, its lock, the journal.
  for (const name of ["readFile", "writeFile", "rename", "open", "fsync", "unlink", "mkdir"]) {
    const f = fs.promises[name];
    fs.promises[name] = function (p, ...rest) {
      const what = `fs ${name} ${typeof p === "string" ? p.replace(process.cwd() + "/", "") : typeof p}`;
      log("-", what);
      return f.call(this, p, ...rest).finally(() => log("-", `${what} done`));
    };
  }
  for (const name of ["writeFileSync", "renameSync", "fsyncSync", "openSync", "unlinkSync"]) {
    const f = fs[name];
    fs[name] = function (p) {
      log("-", `fs ${name} ${typeof p === "string" ? p.replace(process.cwd() + "/", "") : typeof p}`);
      return f.apply(this, arguments);
    };
  }
  syncBuiltinESMExports();
}

/** The floors' roads: node:http requests over forwarded sockets, and OpenSSH processes. */
function traceFloor(require, log) {
  const http = require("node:http");
  const request = http.request;
  http.request = function (options, cb) {
    const host = `${options.socketPath ?? options.host ?? "?"}`.replace(/.*\//, "").replace(/\.sock$/, "");
    const what = `${options.method ?? "GET"} ${decodeURIComponent(`${options.path}`.replace(/\/v1\.\d+/, ""))}`;
    log(host, `> ${what}`);
    return request.call(this, options, (res) => {
      log(host, `< ${res.statusCode} ${what}`);
      cb?.(res);
    });
  };
  const cp = require("node:child_process");
  const spawn = cp.spawn;
  cp.spawn = function (cmd, args) {
    const ctl = (args ?? [])[(args ?? []).indexOf("-S") + 1] ?? "?";
    const host = ctl.replace(/.*\//, "").replace(/\.ctl$/, "");
    const what = `spawn ${cmd.replace(/.*\//, "")} ${(args ?? []).at(-1)}`.slice(0, 120);
    log(host, what);
    const p = spawn.apply(this, arguments);
    p.once("exit", (code) => log(host, `exited ${code}: ${what}`));
    return p;
  };
}
