/** Between the generated contract types and the SDK's JavaScript-shaped records. */
import * as pb from "./gen/gopher/v1/job";
import type { SubmitJobRequest } from "./gen/gopher/v1/job_service";
import type { Job, JobSpec, JobState, Json, JsonObject, Priority, SubmitOptions } from "./types";

export const PRIORITY_TO_PB: Record<Priority, pb.Priority> = {
  high: pb.Priority.PRIORITY_HIGH,
  normal: pb.Priority.PRIORITY_NORMAL,
  low: pb.Priority.PRIORITY_LOW,
};
const PRIORITY_FROM_PB = new Map<number, Priority>(
  Object.entries(PRIORITY_TO_PB).map(([k, v]) => [v, k as Priority]),
);

export const STATE_TO_PB: Record<JobState, pb.JobState> = {
  scheduled: pb.JobState.JOB_STATE_SCHEDULED,
  enqueued: pb.JobState.JOB_STATE_ENQUEUED,
  active: pb.JobState.JOB_STATE_ACTIVE,
  retrying: pb.JobState.JOB_STATE_RETRYING,
  succeeded: pb.JobState.JOB_STATE_SUCCEEDED,
  dead: pb.JobState.JOB_STATE_DEAD,
  cancelled: pb.JobState.JOB_STATE_CANCELLED,
};
const STATE_FROM_PB = new Map<number, JobState>(
  Object.entries(STATE_TO_PB).map(([k, v]) => [v, k as JobState]),
);
export const FINAL_STATES: ReadonlySet<JobState> = new Set(["succeeded", "dead", "cancelled"]);

/** The SDK name of a priority number (normal for unset). */
export function priorityName(value: pb.Priority): Priority {
  return PRIORITY_FROM_PB.get(value) ?? "normal";
}

/** The SDK name of a state number; throws on one this SDK does not know. */
export function stateName(value: pb.JobState): JobState {
  const name = STATE_FROM_PB.get(value);
  if (name === undefined) throw new Error(`unknown job state ${value}`);
  return name;
}

/** Encode a payload, checking that it is a JSON object. */
export function payloadJson(payload: unknown): string {
  if (payload === undefined) return "{}";
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new TypeError("payload must be a JSON object");
  }
  return JSON.stringify(payload);
}

function parseJson(text: string): Json | undefined {
  return text ? (JSON.parse(text) as Json) : undefined;
}

/** The SubmitJobRequest for one job. */
export function submitRequest(type: string, payload: unknown, o: SubmitOptions = {}): SubmitJobRequest {
  if (o.runAt !== undefined && o.delayS !== undefined) {
    throw new TypeError("runAt and delayS are exclusive");
  }
  const follow = (specs: JobSpec[] | undefined): SubmitJobRequest[] =>
    (specs ?? []).map((s) => submitRequest(s.type, s.payload, s));
  return {
    type,
    payloadJson: payloadJson(payload),
    priority: o.priority ? PRIORITY_TO_PB[o.priority] : pb.Priority.PRIORITY_UNSPECIFIED,
    retries: o.retries,
    runAt: o.runAt,
    delayS: o.delayS,
    idempotencyKey: o.idempotencyKey ?? "",
    timeoutS: o.timeoutS,
    leaseTtlS: o.leaseTtlS,
    retryPolicy: o.retryPolicy,
    traceContext: o.traceContext ?? {},
    onSuccess: follow(o.onSuccess),
    onFailure: follow(o.onFailure),
  };
}

/** The SDK record of a contract Job. */
export function jobFromPb(job: pb.Job): Job {
  return {
    id: job.id,
    type: job.type,
    priority: priorityName(job.priority),
    state: stateName(job.state),
    payload: (parseJson(job.payloadJson) ?? {}) as JsonObject,
    result: job.state === pb.JobState.JOB_STATE_SUCCEEDED ? (parseJson(job.resultJson) ?? null) : undefined,
    attempt: job.attempt,
    retries: job.retries,
    createdAt: job.createdAt,
    runAt: job.runAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    idempotencyKey: job.idempotencyKey,
    timeoutS: job.timeoutS,
    leaseTtlS: job.leaseTtlS,
    workerId: job.workerId,
    errors: job.errors.map((e) => ({
      attempt: e.attempt,
      errorType: e.errorType,
      message: e.message,
      traceback: e.traceback,
      workerId: e.workerId,
      time: e.time,
    })),
    events: job.events.map((e) => ({
      time: e.time,
      from: e.fromState === pb.JobState.JOB_STATE_UNSPECIFIED ? undefined : stateName(e.fromState),
      to: stateName(e.toState),
      attempt: e.attempt,
      workerId: e.workerId,
      error: e.error,
    })),
    traceContext: { ...job.traceContext },
    parentId: job.parentId,
    followUpIds: [...job.followUpIds],
  };
}
