// Compiles each JSON Schema file named on the command line with Ajv in strict mode (JSON Schema
// 2020-12, formats checked by ajv-formats): an unknown keyword, such as OpenAPI's
// `discriminator`, is an error. Prints one JSON object, file name -> null or the error; exits 1
// if any file fails. Run with NODE_PATH set to the node_modules install.sh made.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;

const results = {};
for (const file of process.argv.slice(2)) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, logger: { log() {}, warn(m) { throw new Error(m); }, error(m) { throw new Error(m); } } });
  addFormats(ajv);
  try {
    ajv.compile(JSON.parse(fs.readFileSync(file, "utf8")));
    results[path.basename(file)] = null;
  } catch (error) {
    results[path.basename(file)] = String(error.message);
  }
}
console.log(JSON.stringify(results));
process.exit(Object.values(results).every((error) => error === null) ? 0 : 1);
