// Regenerates api-descriptor.ts from api.proto: `node runtimes/kubelet/generate-descriptor.cjs`.
const { readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const protobuf = require("protobufjs");

const target = join(__dirname, "api-descriptor.ts");
const json = JSON.stringify(protobuf.loadSync(join(__dirname, "api.proto")).toJSON());
const header = readFileSync(target, "utf8").split("export const CRI_DESCRIPTOR")[0];
writeFileSync(target, `${header}export const CRI_DESCRIPTOR: Record<string, unknown> = ${json};\n`);
