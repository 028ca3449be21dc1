// Regenerate src/gen/ from protos/ (the one way to produce the TypeScript contract code).
//
// Usage: npm run gen          (write src/gen/)
//        npm run gen:check    (regenerate into a temporary directory; exit 1 if src/gen/ differs)
//
// buf (from npm) compiles protos/ with the repository's buf.yaml and runs ts-proto with the
// options in buf.gen.yaml. Only the Gopher files and the well-known types they use are
// kept: the google/api annotations drive the REST shim, not this SDK.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const PKG = dirname(dirname(fileURLToPath(import.meta.url)));
const ROOT = dirname(dirname(PKG));
const OUT = join(PKG, "src", "gen");
const KEEP = ["gopher", ...["timestamp.ts", "any.ts"].map((f) => join("google", "protobuf", f))];

function generate(base) {
  execFileSync(
    join(PKG, "node_modules", ".bin", "buf"),
    ["generate", "--template", join(PKG, "buf.gen.yaml"), "--path", "protos/gopher", "-o", base],
    { cwd: ROOT, stdio: "inherit" },
  );
  return join(base, "src", "gen");
}

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((p) => statSync(join(dir, p)).isFile())
    .sort();
}

const tmp = mkdtempSync(join(tmpdir(), "gopher-ts-gen-"));
try {
  const fresh = join(tmp, "kept");
  const generated = generate(join(tmp, "buf"));
  for (const path of KEEP) cpSync(join(generated, path), join(fresh, path), { recursive: true });
  if (process.argv.includes("--check")) {
    const want = files(fresh);
    const have = files(OUT);
    const problems = [
      ...want.filter((p) => !have.includes(p)).map((p) => `missing: ${p}`),
      ...have.filter((p) => !want.includes(p)).map((p) => `extra: ${p}`),
      ...want
        .filter((p) => have.includes(p))
        .filter((p) => !readFileSync(join(fresh, p)).equals(readFileSync(join(OUT, p))))
        .map((p) => `differs: ${p}`),
    ];
    if (problems.length) {
      console.error(`${relative(ROOT, OUT)} is stale; run npm run gen in sdk/typescript`);
      for (const problem of problems) console.error(`  ${problem}`);
      process.exit(1);
    }
    console.log(`${relative(ROOT, OUT)} is up to date`);
  } else {
    rmSync(OUT, { recursive: true, force: true });
    cpSync(fresh, OUT, { recursive: true });
    console.log(`TypeScript contract code written to ${relative(ROOT, OUT)}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
