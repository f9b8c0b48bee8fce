import { describe, expect, test } from "../support/harness.ts";
import { groupedLog } from "../../cli/host-warnings.ts";

const insecure = (who: string) =>
  `WARNING: not verifying the host key of ${who} (hostKeyPolicy: insecure); it offered ssh-ed25519 SHA256:x`;

describe("groupedLog()", () => {
  test("groupedLog() says an insecure host key policy once for all hosts, with the count", () => {
    const lines: string[] = [];
    const log = groupedLog((m) => lines.push(m));
    for (let i = 1; i <= 1000; i++) log.log(insecure(`root@10.0.${Math.floor(i / 256)}.${i % 256}:22`));
    log.log("something else");
    expect(lines).toEqual(["something else"]);
    log.flush();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /^not verifying the host keys of 1000 hosts \(hostKeyPolicy: insecure\): .* and 997 more$/,
    );
  });
  test("groupedLog() counts a host once, however often it reconnects, and prints nothing when none was held", () => {
    const lines: string[] = [];
    const log = groupedLog((m) => lines.push(m));
    log.flush();
    expect(lines).toEqual([]);
    log.log(insecure("root@a:22"));
    log.log(insecure("root@a:22"));
    log.flush();
    expect(lines).toEqual(["not verifying the host keys of 1 host (hostKeyPolicy: insecure): root@a:22"]);
  });
});
