import { pullProgressReporter } from "../../cli/pull-progress.ts";
import { describe, expect, test } from "../support/harness.ts";

describe("pullProgressReporter()", () => {
  test("sums the layers' downloaded bytes per host and image", () => {
    const lines: string[] = [];
    const report = pullProgressReporter((l) => lines.push(l), 0);
    report("h1", "etcd:3", { status: "Pulling fs layer", id: "a" });
    report("h1", "etcd:3", { status: "Downloading", id: "a", progressDetail: { current: 1e6, total: 4e6 } });
    report("h1", "etcd:3", { status: "Downloading", id: "b", progressDetail: { current: 2e6, total: 6e6 } });
    report("h1", "etcd:3", { status: "Download complete", id: "a" });
    expect(lines).toEqual([
      '    pulling image "etcd:3" on host h1: Pulling fs layer',
      '    pulling image "etcd:3" on host h1: 1.0 of 4.0 MB downloaded',
      '    pulling image "etcd:3" on host h1: 3.0 of 10.0 MB downloaded',
      '    pulling image "etcd:3" on host h1: 6.0 of 10.0 MB downloaded',
    ]);
  });

  test("a pull quicker than the interval prints nothing", () => {
    const lines: string[] = [];
    const report = pullProgressReporter((l) => lines.push(l), 60_000);
    report("h1", "etcd:3", { status: "Downloading", id: "a", progressDetail: { current: 1, total: 2 } });
    expect(lines).toEqual([]);
  });
});
