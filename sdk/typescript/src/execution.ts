/** Running one job: call its handler within its limits and turn what happened into an
 * ack, a nack, or "stopped" (cancelled, lease lost, drained: the caller decides). */
import { PermanentError, RetryAfter } from "./errors";
import { Run, StopReason, type WorkerJob } from "./job";

/** A registered handler. */
export interface Handler {
  fn: (job: WorkerJob<any>) => unknown;
  /** Default time limit per attempt, seconds (the job's own timeout wins). */
  timeoutS?: number;
}

export type Outcome =
  | { kind: "ack"; resultJson: string }
  | {
      kind: "nack";
      errorType: string;
      message: string;
      traceback: string;
      nonRetryable: boolean;
      retryAfterS?: number;
    }
  | { kind: "stopped"; reason: StopReason };

/** The nack for an error thrown by (or on behalf of) a handler. */
export function failure(error: unknown, nonRetryable = false): Outcome {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    kind: "nack",
    errorType: e.name && e.name !== "Error" ? e.name : e.constructor?.name || "Error",
    message: e.message || e.name,
    traceback: e.stack ?? "",
    nonRetryable: nonRetryable || error instanceof PermanentError,
    retryAfterS: error instanceof RetryAfter ? Math.max(0, error.delayS) : undefined,
  };
}

function resultJson(result: unknown): string {
  if (result === undefined) return "null";
  const text = JSON.stringify(result);
  if (text === undefined) throw new TypeError("handler result is not JSON-serialisable");
  return text;
}

/**
 * Run `handler` for `run`. Resolves (never rejects) with the outcome. A handler that
 * ignores its signal is not waited for once the run is stopped: its job is settled at
 * once and whatever it returns later is dropped.
 *
 * One promise per job and no listener on the signal: this is the hot path of every job,
 * and a no-op handler's cost is mostly this bookkeeping.
 */
export function execute(run: Run, handler: Handler | undefined): Promise<Outcome> {
  let job: WorkerJob;
  try {
    job = run.toJob();
  } catch (error) {
    return Promise.resolve(failure(error, true)); // a payload that is not a JSON object can never run
  }
  if (handler === undefined) {
    return Promise.resolve(failure(new Error(`no handler for job type ${run.lease.type}`), true));
  }
  if (run.stopReason !== undefined) return Promise.resolve(stoppedOutcome(run.stopReason));
  const timeoutS = run.lease.timeoutS || handler.timeoutS || 0;
  return new Promise<Outcome>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (outcome: Outcome): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      run.onStop = undefined;
      resolve(outcome);
    };
    const failed = (error: unknown): void =>
      finish(run.stopReason !== undefined ? stoppedOutcome(run.stopReason) : failure(error));
    run.onStop = (reason) => finish(stoppedOutcome(reason));
    if (timeoutS > 0) {
      timer = setTimeout(() => run.stop("timeout", `handler exceeded its ${timeoutS}s timeout`), timeoutS * 1000);
    }
    try {
      run.ran = true;
      const value = handler.fn(job);
      if (isThenable(value)) value.then((v) => finish(ackOf(v)), failed);
      else finish(ackOf(value));
    } catch (error) {
      failed(error); // thrown by the handler, or by a broken thenable it returned
    }
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function"
  );
}

function ackOf(value: unknown): Outcome {
  try {
    return { kind: "ack", resultJson: resultJson(value) };
  } catch (error) {
    return failure(error, true); // BigInt, cycles: no retry can fix that
  }
}

function stoppedOutcome(reason: StopReason): Outcome {
  if (reason.kind === "timeout") return failure(reason);
  return { kind: "stopped", reason };
}
