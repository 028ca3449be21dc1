/**
 * The Node benchmark worker: the no-op handler of benchmarks/gopher_app.py with the same
 * probe (benchmarks/probe.py): per-process count, first/last start and a histogram of
 * starts per 100 ms, written to Redis ($BENCH_REDIS_URL) every 100 ms, no Redis call per job.
 *
 *   node build/bench/noop-worker.js --server h:p --worker-id ID --concurrency N [--prefetch N]
 */
import Redis from "ioredis";
import { Worker } from "gopher-sdk";
import { flags } from "../test/args";

const TALLY_KEY = "bench:tally";
const HIST_KEY = "bench:hist";
const LATENCY_KEY = "bench:latency";
const BUCKET_S = 0.1;

const args = flags();
const redis = new Redis(process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/0");
const tally = { count: 0, first: 0, last: 0, buckets: new Map<number, number>(), dirty: false };

async function flush(): Promise<void> {
  if (!tally.dirty) return;
  const buckets = tally.buckets;
  tally.buckets = new Map();
  tally.dirty = false;
  const pipe = redis.pipeline();
  const pid = process.pid;
  pipe.hset(TALLY_KEY, { [`${pid}:count`]: tally.count, [`${pid}:first`]: tally.first, [`${pid}:last`]: tally.last });
  for (const [bucket, n] of buckets) pipe.hincrby(HIST_KEY, String(bucket), n);
  await pipe.exec();
}
const flusher = setInterval(() => void flush().catch(() => undefined), 100);

const worker = new Worker({
  servers: args.get("server"),
  workerId: args.get("worker-id"),
  concurrency: Number(args.get("concurrency") ?? 16),
  prefetch: Number(args.get("prefetch") ?? 1),
  graceMs: Number(args.get("grace") ?? 2) * 1000,
});

worker.handle("bench.noop", async (job) => {
  const now = Date.now() / 1000;
  const t = (job.payload as { t?: number }).t;
  if (t !== undefined) {
    await redis.rpush(LATENCY_KEY, String(now - t)); // a latency sample: pushed at once
    return null;
  }
  if (tally.count === 0) tally.first = now;
  tally.count += 1;
  tally.last = now;
  const bucket = Math.floor(now / BUCKET_S);
  tally.buckets.set(bucket, (tally.buckets.get(bucket) ?? 0) + 1);
  tally.dirty = true;
  return null;
});

void worker.run().then(async () => {
  clearInterval(flusher);
  await flush().catch(() => undefined);
  redis.disconnect();
});
