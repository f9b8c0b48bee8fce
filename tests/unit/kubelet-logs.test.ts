import { cleanerConfig, parseCriLog, READER_LABEL, readerConfig } from "../../runtimes/kubelet/logs.ts";
import { containerLogPath, LOG_ROOT, podSpec } from "../../runtimes/kubelet/pod-spec.ts";
import { rotatedFiles, rotationOf, rotatorConfig } from "../../runtimes/kubelet/log-rotation.ts";
import { describe, expect, test } from "../support/harness.ts";

const T = "2024-05-01T10:00:00.123456789Z";

describe("kubelet runtime logs", () => {
  test("`parseCriLog()` splits full lines by stream, in order", () => {
    const log = `${T} stdout F one\n${T} stderr F oops\n${T} stdout F two\n`;
    expect(parseCriLog(log)).toEqual({ stdout: "one\ntwo\n", stderr: "oops\n" });
  });

  test("`parseCriLog()` joins partial entries with the rest of their line, per stream", () => {
    const log = `${T} stdout P a long \n${T} stderr F err\n${T} stdout P line \n${T} stdout F ends here\n`;
    expect(parseCriLog(log)).toEqual({ stdout: "a long line ends here\n", stderr: "err\n" });
  });

  test("`parseCriLog()` keeps empty lines, spaces in the text, and tags with extra fields", () => {
    const log = `${T} stdout F \n${T} stdout F  two  spaces \n${T} stdout F:x third\n`;
    expect(parseCriLog(log).stdout).toBe("\n two  spaces \nthird\n");
  });

  test("`parseCriLog()` keeps a line still being written and skips unreadable lines", () => {
    const log = `garbage\n${T} stdout F done\n${T} stderr P half`;
    expect(parseCriLog(log)).toEqual({ stdout: "done\n", stderr: "half" });
    expect(parseCriLog("")).toEqual({ stdout: "", stderr: "" });
  });

  test("`parseCriLog()` with `tail` keeps the last lines counted over both streams", () => {
    const log = `${T} stdout F 1\n${T} stderr F 2\n${T} stdout P 3\n${T} stdout F a\n`;
    expect(parseCriLog(log, 2)).toEqual({ stdout: "3a\n", stderr: "2\n" });
    expect(parseCriLog(log, 1)).toEqual({ stdout: "3a\n", stderr: "" });
    expect(parseCriLog(log, 0)).toEqual({ stdout: "", stderr: "" });
    expect(parseCriLog(log, 10)).toEqual({ stdout: "1\n3a\n", stderr: "2\n" });
  });

  test("`readerConfig()` mounts the log directory read-only and runs as root, labelled as a reader", () => {
    const { config, path } = readerConfig("busybox", "/var/log/berth/web/abc.log");
    expect(path).toBe("/berth-logs/abc.log");
    expect(config.mounts).toEqual([{ hostPath: "/var/log/berth/web", containerPath: "/berth-logs", readonly: true }]);
    expect(config.labels).toEqual({ [READER_LABEL]: "true" });
    expect(config.linux?.securityContext?.runAsUser).toEqual({ value: 0 });
    expect(config.stdin).toBe(true);
  });

  test("`cleanerConfig()` mounts the log directory's parent read-write, labelled as a reader, and refuses `/`, `.` and `..`", () => {
    const { config, path } = cleanerConfig("busybox", "/var/log/berth/web/");
    expect(path).toBe("/berth-logs/web");
    expect(config.mounts).toEqual([{ hostPath: "/var/log/berth", containerPath: "/berth-logs", readonly: false }]);
    expect(config.labels).toEqual({ [READER_LABEL]: "true" });
    expect(config.linux?.securityContext?.runAsUser).toEqual({ value: 0 });
    for (const bad of ["/", "", "/var/log/berth/..", "/var/log/berth/."]) {
      expect(() => cleanerConfig("busybox", bad)).toThrow("refusing");
    }
  });

  test("`parseCriLog()` keeps lines begun at or after `since` and dates them with `timestamps`", () => {
    const log = [
      "2026-11-30T08:00:00.5Z stdout F early",
      "2026-11-30T08:00:01.000000001Z stdout P la",
      "2026-11-30T08:00:09Z stdout F te", // a piece of the line begun at 08:00:01: dated by its start
      "2026-11-30T08:00:02Z stderr F oops",
      "",
    ].join("\n");
    const since = Date.UTC(2026, 10, 30, 8, 0, 1);
    expect(parseCriLog(log, undefined, { since })).toEqual({ stdout: "late\n", stderr: "oops\n" });
    expect(parseCriLog(log, undefined, { timestamps: true })).toEqual({
      stdout: "2026-11-30T08:00:00.5Z early\n2026-11-30T08:00:01.000000001Z late\n",
      stderr: "2026-11-30T08:00:02Z oops\n",
    });
    expect(parseCriLog(log, 1, { since })).toEqual({ stdout: "", stderr: "oops\n" });
  });

  test("`podSpec()` gives the sandbox a log directory and `containerLogPath()` one file per sandbox", () => {
    expect(podSpec({ name: "web", image: "i" }, {}).sandbox.logDirectory).toBe(`${LOG_ROOT}/web`);
    expect(containerLogPath("abc")).toBe("abc.log");
  });

  test("`rotationOf()` takes json-file's max-size and max-file (10m and 3 by default); -1 turns rotation off", () => {
    expect(rotationOf(undefined)).toEqual({ rotation: { maxBytes: 10 * 1024 ** 2, maxFiles: 3 } });
    expect(rotationOf({ driver: "json-file", options: { "max-size": "20k", "max-file": "1" } })).toEqual({
      rotation: { maxBytes: 20 * 1024, maxFiles: 1 },
    });
    expect(rotationOf({ options: { "max-size": "-1" } })).toEqual({});
    expect(rotationOf({ driver: "syslog" }).problem).toContain('logging driver "syslog" is Docker-only');
    expect(rotationOf({ options: { tag: "x", labels: "a" } }).problem).toContain('logging option "labels", "tag"');
  });

  test("`rotatorConfig()` mounts the log directory read-write, labelled as a reader; `rotatedFiles()` is oldest first", () => {
    const config = rotatorConfig("busybox", "/var/log/berth/web", "abc.log", { maxBytes: 1024, maxFiles: 3 });
    expect(config.mounts).toEqual([{ hostPath: "/var/log/berth/web", containerPath: "/berth-logs", readonly: false }]);
    expect(config.labels).toEqual({ [READER_LABEL]: "rotator" });
    expect(config.command?.slice(-3)).toEqual(["/berth-logs/abc.log", "1024", "3"]);
    expect(config.stdin).toBeUndefined();
    expect(rotatedFiles("/l/a.log", { maxBytes: 1, maxFiles: 3 })).toEqual(["/l/a.log.2", "/l/a.log.1"]);
    expect(rotatedFiles("/l/a.log", undefined)).toEqual([]);
  });
});
