/** The job as a handler sees it, and the bookkeeping of one delivery. */
import type { LeasedJob } from "./gen/gopher/v1/job";
import { priorityName } from "./convert";
import type { JsonObject, Priority } from "./types";

/** One delivery of a job to a handler. */
export interface WorkerJob<P = JsonObject> {
  id: string;
  type: string;
  /** The decoded JSON object. */
  payload: P;
  /** This delivery's attempt, starting at 1. */
  attempt: number;
  /** Retries the job allows after its first attempt. */
  retries: number;
  /** True when a failure now sends the job to the dead letter queue. */
  isLastAttempt: boolean;
  priority: Priority;
  createdAt: Date;
  /** For a follow-up: the job whose outcome submitted it (its result is in payload.parent). */
  parentId: string;
  /** The submitter's W3C trace context. */
  traceContext: Record<string, string>;
  /**
   * Aborts when the handler must stop: the job was cancelled, its lease was lost, its
   * timeout passed, or the worker's drain ran out of grace. `signal.reason` says which
   * (an Error named "AbortError" or "TimeoutError" with `kind`). Pass it to fetch() and
   * friends; whatever the handler returns after it aborted is ignored. Made on first
   * read (so a handler that never reads it pays nothing); a spread copy `{ ...job }`
   * does not carry it.
   */
  readonly signal: AbortSignal;
}

/** Why a running handler was told to stop. */
export type StopKind = "cancelled" | "lease-lost" | "timeout" | "drain" | "stopped";

/** The `signal.reason` of an aborted job. */
export class StopReason extends Error {
  readonly kind: StopKind;

  constructor(kind: StopKind, message: string) {
    super(message);
    this.name = kind === "timeout" ? "TimeoutError" : "AbortError";
    this.kind = kind;
  }
}

/** A delivery held by the worker: waiting for a slot, or running. */
export class Run {
  readonly lease: LeasedJob;
  /** Lease deadline, Unix ms, moved by each extension. */
  deadlineMs: number;
  /** Holds an execution slot (a prefetched run waits for one). */
  started = false;
  /** Ended by the broker or a lost lease: report nothing. */
  settled = false;
  /** Its handler was called (the circuit breaker counts only such runs). */
  ran = false;
  /** Why the run was told to stop; undefined while it may go on. */
  stopReason: StopReason | undefined;
  /** Called once by `stop()`: the execution waiting on the handler (see execution.ts). */
  onStop: ((reason: StopReason) => void) | undefined;
  // Made on first use of `signal`: most handlers never look at it, and an
  // AbortController per job is a large share of a no-op job's cost.
  private controller: AbortController | undefined;

  constructor(lease: LeasedJob) {
    this.lease = lease;
    this.deadlineMs = lease.leaseDeadlineUnixMs;
  }

  get id(): string {
    return this.lease.jobId;
  }

  /** Aborts on `stop()` (already aborted when asked for after it). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stopReason !== undefined) this.controller.abort(this.stopReason);
    }
    return this.controller.signal;
  }

  /** Tell the handler to stop; the first reason wins. */
  stop(kind: StopKind, message: string): void {
    if (this.stopReason !== undefined) return;
    const reason = new StopReason(kind, message);
    this.stopReason = reason;
    this.controller?.abort(reason);
    const onStop = this.onStop;
    this.onStop = undefined;
    onStop?.(reason);
  }

  /** The handler's view; throws SyntaxError/TypeError when the payload is not a JSON object. */
  toJob(): WorkerJob {
    const payload: unknown = JSON.parse(this.lease.payloadJson || "{}");
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
      throw new TypeError("payload is not a JSON object");
    }
    return new JobView(this, payload as JsonObject);
  }
}

/**
 * The `WorkerJob` of one delivery. A class with `signal` on its prototype: an object
 * literal with its own getter costs microseconds per job to create, several times a
 * no-op job's other work.
 */
class JobView implements WorkerJob {
  readonly id: string;
  readonly type: string;
  readonly attempt: number;
  readonly retries: number;
  readonly isLastAttempt: boolean;
  readonly priority: Priority;
  readonly createdAt: Date;
  readonly parentId: string;
  readonly traceContext: Record<string, string>;
  readonly #run: Run;

  constructor(
    run: Run,
    readonly payload: JsonObject,
  ) {
    const l = run.lease;
    this.#run = run;
    this.id = l.jobId;
    this.type = l.type;
    this.attempt = l.attempt;
    this.retries = l.retries;
    this.isLastAttempt = l.attempt > l.retries;
    this.priority = priorityName(l.priority);
    this.createdAt = new Date(l.createdUnixMs);
    this.parentId = l.parentId;
    this.traceContext = { ...l.traceContext };
  }

  get signal(): AbortSignal {
    return this.#run.signal;
  }
}
