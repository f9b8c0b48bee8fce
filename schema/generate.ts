/**
 * Writes schema/config.schema.json, the JSON Schema of berth's config.yaml,
 * from the declarations the validator runs: `npm run schema` after changing a
 * field (tests/unit/config-schema.test.ts fails while the file is stale).
 */
import { writeFileSync } from "node:fs";
import { configSchema } from "../core/config.ts";

const file = new URL("config.schema.json", import.meta.url);
writeFileSync(file, `${JSON.stringify(configSchema(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
