/**
 * Errors of the Gopher SDK.
 *
 * Error
 *  ├── GopherError            the broker refused a call or could not be reached
 *  │    │                     (`code`: the gRPC status name, e.g. "INVALID_ARGUMENT")
 *  │    ├── ConnectionError   UNAVAILABLE or DEADLINE_EXCEEDED: no broker answered in time
 *  │    ├── StaleLeaseError   FAILED_PRECONDITION: the lease token is stale; nothing changed
 *  │    └── NotFoundError     NOT_FOUND: no such job
 *  ├── JobFailedError         `Client.result()` of a job that ended DEAD or CANCELLED
 *  ├── PermanentError         thrown by a handler: dead-letter the job at once
 *  └── RetryAfter             thrown by a handler: retry after exactly `delayS` seconds
 *
 * Any other error thrown by a handler is an ordinary failure, retried with backoff.
 */
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import type { Job } from "./types";

/** The broker refused a call, or no broker could be reached. */
export class GopherError extends Error {
  /** gRPC status name, e.g. "INVALID_ARGUMENT", "UNAUTHENTICATED". */
  readonly code: string;
  /** The broker's message (what was wrong, which field). */
  readonly details: string;

  constructor(code: string, details: string) {
    super(`${code}: ${details}`);
    this.name = "GopherError";
    this.code = code;
    this.details = details;
  }
}

/** No broker answered (UNAVAILABLE) or a call ran past its deadline. */
export class ConnectionError extends GopherError {
  constructor(code: string, details: string) {
    super(code, details);
    this.name = "ConnectionError";
  }
}

/** The lease token is stale or unknown: another delivery owns the job now. */
export class StaleLeaseError extends GopherError {
  constructor(code: string, details: string) {
    super(code, details);
    this.name = "StaleLeaseError";
  }
}

/** No such job. */
export class NotFoundError extends GopherError {
  constructor(code: string, details: string) {
    super(code, details);
    this.name = "NotFoundError";
  }
}

/** `Client.result()` of a job that ended without a result (DEAD or CANCELLED). */
export class JobFailedError extends Error {
  /** The job as it ended, with its errors. */
  readonly job: Job;

  constructor(job: Job) {
    const last = job.errors.at(-1);
    const why = last ? `: ${last.errorType}: ${last.message}` : "";
    super(`job ${job.id} (${job.type}) ended ${job.state}${why}`);
    this.name = "JobFailedError";
    this.job = job;
  }
}

/** Throw from a handler to dead-letter the job at once, whatever retries remain. */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentError";
  }
}

/** Throw from a handler to retry after exactly `delayS` seconds instead of the backoff. */
export class RetryAfter extends Error {
  readonly delayS: number;

  constructor(delayS: number, message?: string) {
    super(message ?? `retry requested in ${delayS}s`);
    this.name = "RetryAfter";
    this.delayS = delayS;
  }
}

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Status)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v as number, k]),
);

/** True for errors where another broker (or a later try) may succeed. */
export function isUnavailable(error: unknown): boolean {
  const code = (error as ServiceError | undefined)?.code;
  return code === Status.UNAVAILABLE || code === Status.DEADLINE_EXCEEDED;
}

/** The SDK error for a failed gRPC call. */
export function fromServiceError(error: ServiceError): GopherError {
  const name = NAMES[error.code] ?? String(error.code);
  const details = error.details || error.message;
  switch (error.code) {
    case Status.UNAVAILABLE:
    case Status.DEADLINE_EXCEEDED:
      return new ConnectionError(name, details);
    case Status.FAILED_PRECONDITION:
      return new StaleLeaseError(name, details);
    case Status.NOT_FOUND:
      return new NotFoundError(name, details);
    default:
      return new GopherError(name, details);
  }
}
