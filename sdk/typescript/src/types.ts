/** The job records and options of the public API, in JavaScript terms. */

/** A JSON value (what payloads and results are made of). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A payload: a JSON object. */
export type JsonObject = { [key: string]: Json };

/** Queue priority. */
export type Priority = "high" | "normal" | "low";
/** Where a job is in its lifecycle; succeeded, dead and cancelled are final. */
export type JobState =
  | "scheduled"
  | "enqueued"
  | "active"
  | "retrying"
  | "succeeded"
  | "dead"
  | "cancelled";

/**
 * The job types an application knows, with their payload and result types, so that
 * `submit`, `result` and `handle` are checked by the compiler:
 *
 *     type Jobs = { email: { payload: { to: string }; result: { delivered: boolean } } };
 *     const client = new Client<Jobs>();
 */
export type JobTypes = Record<string, { payload: unknown; result: unknown }>;
/** The default: any type name, any JSON payload and result. */
export type AnyJobs = Record<string, { payload: JsonObject; result: Json }>;

/** Backoff between retries: delay = min(maxDelayS, baseDelayS * factor^(attempt-1)), jittered. */
export interface RetryPolicy {
  baseDelayS?: number;
  factor?: number;
  maxDelayS?: number;
}

/** How to submit one job (every field optional). */
export interface SubmitOptions {
  /** Queue priority (default normal). */
  priority?: Priority;
  /** Retries after the first attempt, 0..100 (default 3). */
  retries?: number;
  /** Run no earlier than this many seconds from now. Exclusive with `runAt`. */
  delayS?: number;
  /** Run no earlier than this time. Exclusive with `delayS`. */
  runAt?: Date;
  /** A repeat with the same key (within the broker's TTL, 24 h) returns the first job. */
  idempotencyKey?: string;
  /** Execution time limit per attempt, seconds (default none). */
  timeoutS?: number;
  /** Lease length for this job, seconds (default the broker's, 30). */
  leaseTtlS?: number;
  /** Backoff between retries (unset fields: broker defaults). */
  retryPolicy?: RetryPolicy;
  /** W3C trace context (traceparent, tracestate) linking the job to the caller's trace. */
  traceContext?: Record<string, string>;
  /** Follow-up jobs submitted, exactly once, when this job succeeds. */
  onSuccess?: JobSpec[];
  /** Follow-up jobs submitted when this job dies. */
  onFailure?: JobSpec[];
}

/** One job to submit: its type, payload and options (for batches and follow-ups). */
export interface JobSpec extends SubmitOptions {
  type: string;
  payload?: JsonObject;
}

/** What a submit returns: the job's id and its state right after the submit. */
export interface Submitted<K extends string = string> {
  id: string;
  type: K;
  /** "enqueued", or "scheduled" when delayed. */
  state: JobState;
  /** True when the idempotency key matched an earlier job and nothing new was written. */
  duplicate: boolean;
}

/** One failed attempt of a job. */
export interface JobError {
  attempt: number;
  errorType: string;
  message: string;
  traceback: string;
  workerId: string;
  time: Date | undefined;
}

/** One state transition in a job's history. */
export interface JobEvent {
  time: Date | undefined;
  /** undefined for the submit event. */
  from: JobState | undefined;
  to: JobState;
  attempt: number;
  workerId: string;
  error: string;
}

/** A job's full record, as the broker keeps it. */
export interface Job<P = JsonObject, R = Json> {
  id: string;
  type: string;
  priority: Priority;
  state: JobState;
  payload: P;
  /** What the handler returned; undefined until the job succeeded. */
  result: R | undefined;
  /** Deliveries so far (the running attempt while active). */
  attempt: number;
  retries: number;
  createdAt: Date | undefined;
  runAt: Date | undefined;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  idempotencyKey: string;
  timeoutS: number;
  leaseTtlS: number;
  /** Worker holding the job now (active) or that ran the last attempt. */
  workerId: string;
  /** Failed attempts, oldest first (GetJob only). */
  errors: JobError[];
  /** State transitions, oldest first (GetJob only). */
  events: JobEvent[];
  traceContext: Record<string, string>;
  /** For a follow-up: the job whose outcome submitted it. */
  parentId: string;
  /** Follow-ups this job's outcome submitted. */
  followUpIds: string[];
}

/** Filters and paging of `Client.list()`. */
export interface ListOptions {
  state?: JobState;
  type?: string;
  priority?: Priority;
  /** 1..1000 (default 50). */
  pageSize?: number;
  /** From a previous page's `nextPageToken`. */
  pageToken?: string;
  /** Only jobs whose id starts with this text (read from the broker's id index). */
  idPrefix?: string;
}

/** One page of jobs. */
export interface JobPage {
  jobs: Job[];
  /** Empty on the last page. */
  nextPageToken: string;
}
