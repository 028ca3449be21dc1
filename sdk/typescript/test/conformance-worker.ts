/**
 * The Node side of the worker conformance checks (tests/interop/): the same handlers as
 * tests/interop/conformance_handlers.py, each appending what happened as one JSON line to
 * $GOPHER_CONFORMANCE_LOG, so one pytest module can drive either SDK.
 *
 *   node build/test/conformance-worker.js --server h:p[,h:p] [--worker-id ID]
 *        [--concurrency N] [--prefetch N] [--grace S] [--token T] [--tls-ca PEM]
 *        [--breaker-failures N --breaker-cooldown S]   (default: the breaker's defaults)
 */
import { appendFileSync, existsSync } from "node:fs";
import { PermanentError, RetryAfter, Worker, type WorkerJob } from "gopher-sdk";
import { flags } from "./args";

const args = flags();
const LOG = process.env.GOPHER_CONFORMANCE_LOG ?? "";

function note(event: string, job: WorkerJob<any>, extra: Record<string, unknown> = {}): void {
  if (!LOG) return;
  const line = { event, job: job.id, type: job.type, attempt: job.attempt, sdk: "node", pid: process.pid, t: Date.now() / 1000, ...extra };
  appendFileSync(LOG, JSON.stringify(line) + "\n");
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

const tlsCa = args.get("tls-ca");
const breakerFailures = args.get("breaker-failures");
const worker = new Worker({
  servers: args.get("server"),
  workerId: args.get("worker-id"),
  concurrency: Number(args.get("concurrency") ?? 4),
  prefetch: Number(args.get("prefetch") ?? 1),
  graceMs: Number(args.get("grace") ?? 30) * 1000,
  token: args.get("token"),
  tls: tlsCa ? { ca: tlsCa } : undefined,
  breaker: breakerFailures
    ? { failureCount: Number(breakerFailures), cooldownS: Number(args.get("breaker-cooldown") ?? 30) }
    : undefined,
});

worker.handle("conf.echo", (job) => {
  note("start", job);
  return { echo: job.payload, attempt: job.attempt, sdk: "node", parent: job.parentId };
});

worker.handle("conf.fail", (job) => {
  note("start", job);
  throw new Error(String(job.payload.message ?? "boom"));
});

worker.handle("conf.flaky", (job) => {
  // Fails while the file payload.down_file exists (a downstream that is down).
  note("start", job);
  if (existsSync(String(job.payload.down_file))) throw new Error("downstream down");
  return { attempt: job.attempt, sdk: "node" };
});

worker.handle("conf.permanent", (job) => {
  note("start", job);
  throw new PermanentError(String(job.payload.message ?? "bad input"));
});

worker.handle("conf.retry_after", (job) => {
  note("start", job);
  if (job.attempt === 1) throw new RetryAfter(Number(job.payload.delay_s ?? 1));
  return { attempt: job.attempt, sdk: "node" };
});

worker.handle("conf.sleep", async (job) => {
  note("start", job);
  try {
    const slow = job.payload.slow_attempts as number[] | undefined;
    const ms = slow === undefined || slow.includes(job.attempt) ? Number(job.payload.ms ?? 1000) : 0;
    await sleep(ms, job.signal);
  } catch (error) {
    note("aborted", job, { reason: (error as { kind?: string }).kind ?? String(error) });
    throw error;
  }
  note("end", job);
  return { attempt: job.attempt, sdk: "node", pid: process.pid };
});

worker.handle("conf.block", (job) => {
  // Blocks the whole process, as a CPU-bound handler (or a stalled machine) would: no
  // lease extension, no stream reads, until it returns.
  note("start", job);
  const blocked = (job.payload.block_attempts as number[] | undefined) ?? [1];
  if (blocked.includes(job.attempt)) {
    const end = Date.now() + Number(job.payload.ms ?? 3000);
    while (Date.now() < end) {
      /* busy */
    }
  }
  note("end", job);
  return { attempt: job.attempt, sdk: "node", pid: process.pid };
});

worker.handle("node.step", (job) => {
  // One link of a cross-language chain: say who ran it and what the parent returned.
  note("start", job);
  const parent = (job.payload.parent ?? {}) as { result?: unknown };
  return { sdk: "node", n: job.payload.n ?? null, parent_result: (parent.result ?? null) as any };
});

// run(): SIGTERM or SIGINT drains (the SDK's own handling, under test), a second one stops.
void worker.run();
process.stdout.write(`gopher-worker-node ${worker.workerId} running ${worker.jobTypes.join(", ")}\n`);
