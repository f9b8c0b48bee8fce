import { describe, expect, test } from "../support/harness.ts";
import { fingerprint, keyType } from "../../transports/ssh/fingerprint.ts";
import {
  checkHostKey,
  hashHostName,
  hostName,
  knownHostsLine,
  knownKeyTypes,
  linesFor,
  matchesHost,
  parseKnownHosts,
} from "../../transports/ssh/known-hosts.ts";

// A real host key and what OpenSSH says about it (`ssh-keygen -lf`, `ssh-keygen -H`).
const ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIAYJZLwlWwOrThD3zyLG8kS00R716RDcE1awGL1Lhx9k";
const ED25519_FINGERPRINT = "SHA256:MwEic4fak11xHjeyv5syM6NSVUwQKErIFN1ZssK0AEY";
const HASHED_127_0_0_1_22022 = "|1|GIf7oLckEV+bVJDyP8Q9UlEe0vg=|u3hmF4gJ5gPAzVjQ1Rh09J5rd64=";
// Another valid ed25519 blob (different key material).
const OTHER = Buffer.concat([Buffer.from(ED25519, "base64").subarray(0, 19), Buffer.alloc(32, 7)]);
const key = Buffer.from(ED25519, "base64");

describe("fingerprint()", () => {
  test("fingerprint() formats SHA256 like ssh-keygen -l, without padding", () => {
    expect(fingerprint(key)).toBe(ED25519_FINGERPRINT);
  });
  test("keyType() reads the type from the key blob", () => {
    expect(keyType(key)).toBe("ssh-ed25519");
    expect(keyType(Buffer.from([0, 0, 0, 9, 1]))).toBeUndefined();
  });
});

describe("parseKnownHosts()", () => {
  test("parseKnownHosts() reads plain, bracketed, hashed and revoked lines", () => {
    const entries = parseKnownHosts(
      [
        "# comment",
        "",
        `10.0.0.2,host-a ssh-ed25519 ${ED25519} comment here`,
        `[10.0.0.3]:2222 ssh-ed25519 ${ED25519}`,
        `${HASHED_127_0_0_1_22022} ssh-ed25519 ${ED25519}`,
        `@revoked * ssh-ed25519 ${OTHER.toString("base64")}`,
      ].join("\n"),
    );
    expect(entries.map((e) => [e.hosts, e.revoked, e.line])).toEqual([
      ["10.0.0.2,host-a", false, 3],
      ["[10.0.0.3]:2222", false, 4],
      [HASHED_127_0_0_1_22022, false, 5],
      ["*", true, 6],
    ]);
  });
  test("parseKnownHosts() skips @cert-authority and malformed lines", () => {
    const entries = parseKnownHosts(
      [
        `@cert-authority *.example.com ssh-ed25519 ${ED25519}`,
        "host-only",
        `host ssh-rsa ${ED25519}`, // type field disagrees with the key
        `host ssh-ed25519 !!!`,
      ].join("\n"),
    );
    expect(entries).toEqual([]);
  });
});

describe("matchesHost()", () => {
  const entry = (hosts: string) => ({ hosts, keyType: "ssh-ed25519", key, revoked: false, line: 1 });
  test("matchesHost() uses the bare address on port 22 and [address]:port otherwise", () => {
    expect(hostName("10.0.0.2", 22)).toBe("10.0.0.2");
    expect(matchesHost(entry("10.0.0.2"), "10.0.0.2", 22)).toBe(true);
    expect(matchesHost(entry("10.0.0.2"), "10.0.0.2", 2222)).toBe(false);
    expect(matchesHost(entry("[10.0.0.2]:2222"), "10.0.0.2", 2222)).toBe(true);
  });
  test("matchesHost() reads comma lists, wildcards and negations", () => {
    expect(matchesHost(entry("a,10.0.0.2,b"), "10.0.0.2", 22)).toBe(true);
    expect(matchesHost(entry("10.0.0.*"), "10.0.0.9", 22)).toBe(true);
    expect(matchesHost(entry("10.0.0.?"), "10.0.0.10", 22)).toBe(false);
    expect(matchesHost(entry("10.0.0.*,!10.0.0.5"), "10.0.0.5", 22)).toBe(false);
    expect(matchesHost(entry("HOST.example"), "host.example", 22)).toBe(true);
  });
  test("matchesHost() matches hashed names written by ssh-keygen -H", () => {
    expect(matchesHost(entry(HASHED_127_0_0_1_22022), "127.0.0.1", 22022)).toBe(true);
    expect(matchesHost(entry(HASHED_127_0_0_1_22022), "127.0.0.1", 22)).toBe(false);
  });
  test("hashHostName() hashes so that matchesHost() finds the host again", () => {
    const hashed = hashHostName("[h]:2200");
    expect(hashed).toMatch(/^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28}$/);
    expect(matchesHost(entry(hashed), "h", 2200)).toBe(true);
  });
});

describe("checkHostKey()", () => {
  const file = [
    `10.0.0.2 ssh-ed25519 ${ED25519}`,
    `[10.0.0.3]:2222 ssh-ed25519 ${OTHER.toString("base64")}`,
  ].join("\n");
  const entries = parseKnownHosts(file);
  test("checkHostKey() says known for a recorded key", () => {
    expect(checkHostKey(entries, "10.0.0.2", 22, key)).toEqual({ status: "known" });
  });
  test("checkHostKey() says unknown for a host without lines", () => {
    expect(checkHostKey(entries, "10.0.0.9", 22, key)).toEqual({ status: "unknown" });
  });
  test("checkHostKey() says changed, with the expected entries, for a different key", () => {
    const found = checkHostKey(entries, "10.0.0.3", 2222, key);
    expect(found.status).toBe("changed");
    if (found.status === "changed") {
      expect(fingerprint(found.expected[0]?.key ?? Buffer.alloc(0))).toBe(fingerprint(OTHER));
    }
  });
  test("checkHostKey() says revoked for a key marked @revoked, even when also listed", () => {
    const revoked = parseKnownHosts(`${file}\n@revoked * ssh-ed25519 ${ED25519}`);
    expect(checkHostKey(revoked, "10.0.0.2", 22, key)).toEqual({ status: "revoked" });
  });
  test("knownKeyTypes() lists the key types recorded for a host", () => {
    expect(knownKeyTypes(entries, "10.0.0.2", 22)).toEqual(["ssh-ed25519"]);
    expect(knownKeyTypes(entries, "10.0.0.9", 22)).toEqual([]);
  });
});

describe("knownHostsLine()", () => {
  test("knownHostsLine() writes a line parseKnownHosts() reads back", () => {
    const line = knownHostsLine("10.0.0.4", 2200, key);
    expect(line).toBe(`[10.0.0.4]:2200 ssh-ed25519 ${ED25519}\n`);
    expect(checkHostKey(parseKnownHosts(line), "10.0.0.4", 2200, key)).toEqual({ status: "known" });
  });
});

describe("linesFor()", () => {
  test("linesFor() gives every host the verdicts and key types the whole file gives", () => {
    const other = OTHER.toString("base64");
    const entries = parseKnownHosts(
      [
        `10.0.0.2,Host-A ssh-ed25519 ${ED25519}`,
        `[10.0.0.3]:2222 ssh-ed25519 ${other}`,
        `${HASHED_127_0_0_1_22022} ssh-ed25519 ${ED25519}`,
        `10.0.0.* ssh-ed25519 ${other}`,
        `host-b,!10.0.0.9 ssh-ed25519 ${ED25519}`,
        `@revoked 10.0.0.8 ssh-ed25519 ${other}`,
        `10.0.0.3 ssh-ed25519 ${ED25519}`,
      ].join("\n"),
    );
    const lines = linesFor(entries);
    const hosts: Array<[string, number]> = [
      ["10.0.0.2", 22],
      ["host-a", 22],
      ["10.0.0.3", 2222],
      ["10.0.0.3", 22],
      ["127.0.0.1", 22022],
      ["10.0.0.9", 22],
      ["host-b", 22],
      ["10.0.0.8", 22],
      ["unknown", 22],
    ];
    for (const [address, port] of hosts) {
      for (const offered of [key, OTHER]) {
        expect({ address, port, status: checkHostKey(lines(address, port), address, port, offered) }).toEqual({
          address,
          port,
          status: checkHostKey(entries, address, port, offered),
        });
      }
      expect(knownKeyTypes(lines(address, port), address, port)).toEqual(knownKeyTypes(entries, address, port));
    }
    // A plain line is found by name: another host's plain line is not among its lines.
    expect(lines("host-a", 22).map((e) => e.line)).not.toContain(7);
  });
});
