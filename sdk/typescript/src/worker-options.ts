/** The Worker's settings: what can be set, the defaults, and their checks. */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { BreakerPolicy } from "./breaker";
import type { ConnectionOptions } from "./connection";
import type { Logger } from "./log";

/** Worker ids and job types: 1..128 of [A-Za-z0-9_.:-]. */
export const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Worker settings (connection settings included). */
export interface WorkerOptions extends ConnectionOptions {
  /** Handlers run at once, 1..10000 (default 16). */
  concurrency?: number;
  /**
   * Jobs leased per slot (default 1: none buffered). The broker may lease up to
   * concurrency x prefetch jobs, so the next ones are already here when a slot frees.
   */
  prefetch?: number;
  /** Stable id, 1..128 of [A-Za-z0-9_.:-] (default host-pid-random). */
  workerId?: string;
  /** How long a drain lets running handlers finish, ms (default 30000). */
  graceMs?: number;
  /** Where the worker logs (default: stderr at $GOPHER_LOG_LEVEL, else info). */
  logger?: Logger;
  /**
   * Per-type circuit breaker (default: on, with BreakerPolicy's defaults, as in the Python
   * worker): a type that keeps failing is held back for a cool-down, reported to the
   * brokers, then probed with one job. `false` turns it off.
   */
  breaker?: BreakerPolicy | false;
}

/** Options of one handler. */
export interface HandleOptions {
  /** Time limit per attempt, seconds, when the job sets none. */
  timeoutS?: number;
}

/** Counters for monitoring and tests. */
export interface WorkerStats {
  completed: number;
  failed: number;
  /** Outcomes the broker refused (stale lease). */
  refused: number;
  /** Deliveries dropped unstarted because their lease had expired. */
  expiredDeliveries: number;
  /** Handlers running now. */
  busy: number;
}

/** The settings of `options` with their defaults; throws RangeError on a bad value. */
export function checkedSettings(options: WorkerOptions): {
  concurrency: number;
  prefetch: number;
  workerId: string;
  graceMs: number;
} {
  const concurrency = options.concurrency ?? 16;
  const prefetch = options.prefetch ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000) {
    throw new RangeError("concurrency must be an integer between 1 and 10000");
  }
  if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 100 || concurrency * prefetch > 10_000) {
    throw new RangeError("prefetch must be an integer between 1 and 100 (and concurrency x prefetch <= 10000)");
  }
  const workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  if (!NAME.test(workerId)) {
    throw new RangeError("workerId must be 1..128 characters from [A-Za-z0-9_.:-]");
  }
  return { concurrency, prefetch, workerId, graceMs: options.graceMs ?? 30_000 };
}
