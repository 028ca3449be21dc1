/**
 * Per-type circuit breaker: when a job type keeps failing (a downstream is down), stop
 * taking that type for a cool-down instead of burning every job's retries, then let one
 * probe decide whether to resume. The same rules as the Python worker's
 * (gopher_worker/_breaker.py), so both SDKs hold a failing type back alike.
 *
 * closed -> open after `failureRatio` of at least `minCalls` runs (or `failureCount`
 * failures) within `windowS`; open -> half_open when the cool-down has ended and a job
 * of the type arrives (that job is the probe); half_open -> closed if the probe
 * succeeds, open again if it fails. While open or half_open the brokers send this worker
 * no jobs of the type (see docs/worker-protocol.md, "Circuit-breaker reports").
 */
import type { Logger } from "./log";

/** When a type's breaker opens, and for how long. */
export interface BreakerPolicy {
  /** Open when at least this share of the window's runs failed (default 0.5)... */
  failureRatio?: number;
  /** ...and the window holds at least this many runs (default 20). */
  minCalls?: number;
  /** Open after this many failures in the window, whatever the ratio (default: off). */
  failureCount?: number;
  /** Length of the window, seconds (default 60). */
  windowS?: number;
  /** How long an open breaker holds the type back, seconds (default 30). */
  cooldownS?: number;
  /** A probe that never reports back frees the type after this long, seconds (default 300). */
  probeTimeoutS?: number;
}

export type CircuitStateName = "closed" | "open" | "half_open";

/** (job type, new state, hold-until Unix ms): reports the change to the brokers. */
export type CircuitListener = (jobType: string, state: CircuitStateName, holdUntilMs: number) => void;

/** Outcomes counted per whole second: memory is bounded by the window, not the job rate. */
interface Bucket {
  second: number;
  calls: number;
  failures: number;
}

class TypeState {
  state: CircuitStateName = "closed";
  /** Unix ms: end of the cool-down (open) or the probe's deadline (half_open). */
  untilMs = 0;
  buckets: Bucket[] = [];
  calls = 0; // totals over `buckets`, kept in step so each check is O(1)
  failures = 0;

  add(nowMs: number, failed: boolean, windowS: number): void {
    const second = Math.floor(nowMs / 1000);
    let bucket = this.buckets[this.buckets.length - 1];
    if (bucket === undefined || bucket.second !== second) {
      bucket = { second, calls: 0, failures: 0 };
      this.buckets.push(bucket);
    }
    bucket.calls += 1;
    this.calls += 1;
    if (failed) {
      bucket.failures += 1;
      this.failures += 1;
    }
    while (this.buckets[0].second <= nowMs / 1000 - windowS) {
      const old = this.buckets.shift()!;
      this.calls -= old.calls;
      this.failures -= old.failures;
    }
  }

  forget(): void {
    this.buckets = [];
    this.calls = 0;
    this.failures = 0;
  }
}

/** Tracks handler outcomes per job type and decides whether the type may run. */
export class CircuitBreaker {
  private readonly policy: Required<Omit<BreakerPolicy, "failureCount">> & { failureCount?: number };
  private readonly types = new Map<string, TypeState>();

  constructor(
    policy: BreakerPolicy,
    private readonly listener: CircuitListener,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.policy = {
      failureRatio: policy.failureRatio ?? 0.5,
      minCalls: policy.minCalls ?? 20,
      failureCount: policy.failureCount,
      windowS: policy.windowS ?? 60,
      cooldownS: policy.cooldownS ?? 30,
      probeTimeoutS: policy.probeTimeoutS ?? 300,
    };
    const p = this.policy;
    if (!(p.failureRatio > 0 && p.failureRatio <= 1)) throw new RangeError("breaker failureRatio must be in (0, 1]");
    if (!Number.isInteger(p.minCalls) || p.minCalls < 1) throw new RangeError("breaker minCalls must be an integer >= 1");
    if (p.failureCount !== undefined && (!Number.isInteger(p.failureCount) || p.failureCount < 1)) {
      throw new RangeError("breaker failureCount must be an integer >= 1");
    }
    for (const name of ["windowS", "cooldownS", "probeTimeoutS"] as const) {
      if (!(p[name] > 0)) throw new RangeError(`breaker ${name} must be > 0`);
    }
  }

  /** The breaker state of a type ("closed" for a type never seen). */
  state(jobType: string): CircuitStateName {
    return this.types.get(jobType)?.state ?? "closed";
  }

  /**
   * Whether a newly delivered job of this type may run now. The first job after the
   * cool-down becomes the half-open probe; others are handed back.
   */
  admit(jobType: string): boolean {
    const st = this.types.get(jobType);
    if (st === undefined || st.state === "closed") return true;
    const now = this.clock();
    if (now < st.untilMs) return false;
    // Cool-down over (open), or the probe never came back (half_open): probe again.
    this.change(jobType, st, "half_open", now + this.policy.probeTimeoutS * 1000);
    return true;
  }

  /** A handler run of `jobType` ended: succeeded, or failed (thrown, timed out). */
  record(jobType: string, failed: boolean): void {
    let st = this.types.get(jobType);
    if (st === undefined) {
      st = new TypeState();
      this.types.set(jobType, st);
    }
    const now = this.clock();
    if (st.state === "half_open") {
      if (failed) {
        this.change(jobType, st, "open", now + this.policy.cooldownS * 1000);
      } else {
        st.forget();
        this.change(jobType, st, "closed", 0);
      }
      return;
    }
    if (st.state !== "closed") return; // a straggler of a job started before it opened
    const p = this.policy;
    st.add(now, failed, p.windowS);
    const byCount = p.failureCount !== undefined && st.failures >= p.failureCount;
    const byRatio = st.calls >= p.minCalls && st.failures >= p.failureRatio * st.calls;
    if (byCount || byRatio) {
      st.forget();
      this.change(jobType, st, "open", now + p.cooldownS * 1000);
    }
  }

  private change(jobType: string, st: TypeState, state: CircuitStateName, untilMs: number): void {
    const from = st.state;
    st.state = state;
    st.untilMs = untilMs;
    if (from !== state) this.log.warn(`circuit for ${jobType}: ${from} -> ${state}`);
    this.listener(jobType, state, Math.floor(untilMs));
  }
}
