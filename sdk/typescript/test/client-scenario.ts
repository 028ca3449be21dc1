/**
 * The Node client side of the interop tests (tests/interop/test_node_client.py): runs one
 * scenario against the broker at --server and prints what it saw as one JSON object;
 * the test checks it, and the broker's records, from Python.
 *
 *   node build/test/client-scenario.js --server h:p --scenario api|chain
 *   node build/test/client-scenario.js --server h:p --scenario submit --type T [--then U]
 *
 * `submit` submits one job of type T (with a follow-up of type U on success) and
 * prints its id, setting no trace context (tests/observability/test_trace_links.py).
 */
import { Client, JobFailedError, type Job } from "gopher-sdk";
import { flags } from "./args";

/** The job types of the conformance handlers, typed as an application would. */
type Jobs = {
  "conf.echo": { payload: { n: number; note?: string }; result: { echo: { n: number }; attempt: number; sdk: string } };
  "conf.permanent": { payload: { message: string }; result: null };
  "conf.sleep": { payload: { ms: number }; result: { attempt: number; sdk: string } };
  "python.step": { payload: { n: number }; result: { sdk: string; n: number; parent_result: unknown } };
  "node.step": { payload: { n: number }; result: { sdk: string; n: number; parent_result: unknown } };
};

const args = flags();
const client = new Client<Jobs>({ servers: args.get("server") });

async function api(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const high = await client.submit("conf.echo", { n: 1 }, { priority: "high", retries: 2, timeoutS: 30, leaseTtlS: 20 });
  out.high = high;
  // result() is typed by the Jobs map: .echo.n is a number here.
  const result = await client.result(high, { timeoutMs: 20_000 });
  out.result = result;
  out.resultN = result.echo.n;
  const first = await client.submit("conf.echo", { n: 2 }, { idempotencyKey: "interop-key-1" });
  const again = await client.submit("conf.echo", { n: 3 }, { idempotencyKey: "interop-key-1" });
  out.idempotent = { first, again };
  const delayed = await client.submit("conf.echo", { n: 4 }, { delayS: 60, priority: "low" });
  out.delayed = delayed;
  out.delayedJob = await client.get(delayed);
  out.cancel = await client.cancel(delayed);
  out.cancelAgain = await client.cancel(delayed);
  const batch = await client.submitBatch([
    { type: "conf.echo", payload: { n: 10 } },
    { type: "conf.echo", payload: { n: 11 }, priority: "high" },
    { type: "conf.echo", payload: { n: 12 }, retries: 0 },
  ]);
  out.batch = batch;
  out.batchResults = await Promise.all(batch.map((b) => client.result(b.id, { timeoutMs: 20_000 })));
  const watched = await client.submit("conf.sleep", { ms: 300 });
  const states: string[] = [];
  for await (const job of client.watch(watched, { timeoutMs: 20_000 })) states.push(job.state);
  out.watchStates = states;
  const dead = await client.submit("conf.permanent", { message: "no such user" }, { retries: 4 });
  try {
    await client.result(dead, { timeoutMs: 20_000 });
    out.deadError = null;
  } catch (error) {
    const e = error as JobFailedError;
    out.deadError = { name: e.name, state: e.job.state, errors: e.job.errors.map((x) => [x.errorType, x.message]) };
  }
  const page = await client.list({ type: "conf.echo", state: "succeeded", pageSize: 2 });
  const rest = await client.list({ type: "conf.echo", state: "succeeded", pageSize: 100, pageToken: page.nextPageToken });
  out.listed = { firstPage: page.jobs.length, more: page.nextPageToken !== "", total: page.jobs.length + rest.jobs.length };
  try {
    await client.get("00000000-0000-4000-8000-000000000000");
  } catch (error) {
    out.missing = { name: (error as Error).name, code: (error as { code?: string }).code };
  }
  try {
    await client.submit("bad type!" as "conf.echo", { n: 0 });
  } catch (error) {
    out.invalid = { code: (error as { code?: string }).code, details: (error as { details?: string }).details };
  }
  return out;
}

async function chain(): Promise<Record<string, unknown>> {
  // Node submits: python.step, then node.step, then python.step, each getting its parent's result.
  const head = await client.submit("python.step", { n: 1 }, {
    onSuccess: [{ type: "node.step", payload: { n: 2 }, onSuccess: [{ type: "python.step", payload: { n: 3 } }] }],
  });
  // Follow-ups are written with their parent's outcome, so each id is known once the
  // previous link finished.
  const ids: string[] = [];
  const jobs: Job<unknown, unknown>[] = [];
  let id = head.id;
  for (let i = 0; i < 3; i++) {
    await client.result(id, { timeoutMs: 20_000 });
    const job = await client.get(id);
    ids.push(id);
    jobs.push(job);
    id = job.followUpIds[0];
  }
  return { ids, results: jobs.map((j) => j.result), parents: jobs.map((j) => j.parentId) };
}

async function submit(): Promise<Record<string, unknown>> {
  const type = args.get("type") ?? "";
  const then = args.get("then");
  const onSuccess = then ? [{ type: then as keyof Jobs, payload: {} }] : undefined;
  const id = await client.submit(type as keyof Jobs, {} as never, { onSuccess });
  return { id };
}

const scenarios: Record<string, () => Promise<Record<string, unknown>>> = { api, chain, submit };
const run = scenarios[args.get("scenario") ?? ""];
if (!run) throw new Error(`--scenario must be one of ${Object.keys(scenarios).join(", ")}`);
run()
  .then((out) => process.stdout.write(JSON.stringify(out) + "\n"))
  .catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(() => client.close());
