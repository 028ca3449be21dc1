/** Command-line flags of the test programs: --name value pairs. */
export function flags(argv: string[] = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    out.set(a.slice(2), argv[i + 1] ?? "");
    i += 1;
  }
  return out;
}
