/**
 * Gopher for Node.js: a `Client` that submits and follows jobs, and a `Worker` that runs
 * them, over the broker's gRPC contract (protos/gopher/v1). The generated contract
 * types are exported as `pb` for anything the SDK does not wrap.
 */
export { type BreakerPolicy, type CircuitStateName } from "./breaker";
export { Client, type WaitOptions } from "./client";
export { type ConnectionOptions, type TlsOptions } from "./connection";
export {
  ConnectionError,
  GopherError,
  JobFailedError,
  NotFoundError,
  PermanentError,
  RetryAfter,
  StaleLeaseError,
} from "./errors";
export { StopReason, type StopKind, type WorkerJob } from "./job";
export { consoleLogger, type Logger } from "./log";
export type {
  AnyJobs,
  Job,
  JobError,
  JobEvent,
  JobPage,
  JobSpec,
  JobState,
  JobTypes,
  Json,
  JsonObject,
  ListOptions,
  Priority,
  RetryPolicy,
  SubmitOptions,
  Submitted,
} from "./types";
export { Worker, type HandleOptions, type WorkerOptions, type WorkerStats } from "./worker";
export * as pb from "./pb";
