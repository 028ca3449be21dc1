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
 * ignores its signal is not waited for once the signal aborts: its job is settled at
 * once and whatever it returns later is dropped.
 */
export async function execute(run: Run, handler: Handler | undefined): Promise<Outcome> {
  let job: WorkerJob;
  try {
    job = run.toJob();
  } catch (error) {
    return failure(error, true); // a payload that is not a JSON object can never run
  }
  if (handler === undefined) {
    return failure(new Error(`no handler for job type ${run.lease.type}`), true);
  }
  const timeoutS = run.lease.timeoutS || handler.timeoutS || 0;
  const signal = run.controller.signal;
  const timer =
    timeoutS > 0
      ? setTimeout(() => run.stop("timeout", `handler exceeded its ${timeoutS}s timeout`), timeoutS * 1000)
      : undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<Outcome>((resolve) => {
    onAbort = () => resolve(stoppedOutcome(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const ran = (async (): Promise<Outcome> => {
      let value: unknown;
      try {
        value = await handler.fn(job);
      } catch (error) {
        return signal.aborted ? stoppedOutcome(signal.reason) : failure(error);
      }
      try {
        return { kind: "ack", resultJson: resultJson(value) };
      } catch (error) {
        return failure(error, true); // BigInt, cycles: no retry can fix that
      }
    })();
    return await Promise.race([ran, aborted]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

function stoppedOutcome(reason: unknown): Outcome {
  if (reason instanceof StopReason && reason.kind === "timeout") return failure(reason);
  return { kind: "stopped", reason: reason instanceof StopReason ? reason : new StopReason("stopped", String(reason)) };
}
