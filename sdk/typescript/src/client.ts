/** `Client`: submit jobs and follow them over JobService. */
import * as grpc from "@grpc/grpc-js";
import { Connection, type ConnectionOptions } from "./connection";
import { ConnectionError, fromServiceError, GopherError, isUnavailable, JobFailedError } from "./errors";
import { FINAL_STATES, jobFromPb, PRIORITY_TO_PB, STATE_TO_PB, stateName, submitRequest } from "./convert";
import { JobState as PbState, Priority as PbPriority } from "./gen/gopher/v1/job";
import type { WatchJobResponse } from "./gen/gopher/v1/job_service";
import type {
  AnyJobs,
  Job,
  JobPage,
  JobSpec,
  JobState,
  JobTypes,
  ListOptions,
  SubmitOptions,
  Submitted,
} from "./types";

/** A job id, or what `submit` returned (which carries the job's type for typing). */
type JobRef<K extends string = string> = string | Submitted<K>;

function idOf(ref: JobRef): string {
  return typeof ref === "string" ? ref : ref.id;
}

/** Options of `Client.result()` and `Client.watch()`. */
export interface WaitOptions {
  /** Give up after this many milliseconds (default: wait as long as it takes). */
  timeoutMs?: number;
  /** Stop waiting when this signal aborts. */
  signal?: AbortSignal;
}

/**
 * Submits jobs and follows them. `T` maps job types to their payload and result types
 * (see `JobTypes`); without it any type and JSON payload goes.
 *
 * Reads (get, list, watch, result) and cancels move on to the next listed broker when
 * one does not answer; a submit does so only with an idempotency key, so a submit that
 * reached a broker before the connection broke is never written twice.
 */
export class Client<T extends JobTypes = AnyJobs> {
  private readonly conn: Connection;

  constructor(options: ConnectionOptions = {}) {
    this.conn = new Connection(options);
  }

  private async call<R>(
    invoke: Parameters<Connection["unary"]>[0],
    retryOtherBrokers: boolean,
  ): Promise<R> {
    const tries = retryOtherBrokers ? this.conn.brokers.length : 1;
    for (let i = 0; ; i++) {
      try {
        return (await this.conn.unary(invoke)) as R;
      } catch (error) {
        if (!(error instanceof ConnectionError) || i + 1 >= tries) throw error;
        this.conn.rotate();
      }
    }
  }

  /** Submit one job; resolves with its id and state ("enqueued", or "scheduled" when delayed). */
  async submit<K extends keyof T & string>(
    type: K,
    payload: T[K]["payload"],
    options: SubmitOptions = {},
  ): Promise<Submitted<K>> {
    const request = submitRequest(type, payload, options);
    const response = await this.call<{ jobId: string; status: PbState; duplicate?: boolean }>(
      (b, md, o, cb) => b.jobs.submitJob(request, md, o, cb),
      Boolean(options.idempotencyKey),
    );
    return { id: response.jobId, type, state: stateName(response.status), duplicate: response.duplicate ?? false };
  }

  /** Submit a batch atomically: every job is written, or none. Results in request order. */
  async submitBatch(jobs: JobSpec[]): Promise<Submitted[]> {
    const request = { jobs: jobs.map((j) => submitRequest(j.type, j.payload, j)) };
    const keyed = jobs.every((j) => j.idempotencyKey);
    const response = await this.call<{ results: { jobId: string; status: PbState; duplicate?: boolean }[] }>(
      (b, md, o, cb) => b.jobs.submitJobs(request, md, o, cb),
      keyed,
    );
    return response.results.map((r, i) => ({
      id: r.jobId,
      type: jobs[i].type,
      state: stateName(r.status),
      duplicate: r.duplicate ?? false,
    }));
  }

  /** A job's full record (state, attempts, result, errors, history). Throws NotFoundError. */
  async get<K extends keyof T & string>(ref: JobRef<K>): Promise<Job<T[K]["payload"], T[K]["result"]>> {
    const response = await this.call<{ job?: Parameters<typeof jobFromPb>[0] }>(
      (b, md, o, cb) => b.jobs.getJob({ jobId: idOf(ref) }, md, o, cb),
      true,
    );
    if (!response.job) throw new GopherError("INTERNAL", "broker answered GetJob without a job");
    return jobFromPb(response.job) as Job<T[K]["payload"], T[K]["result"]>;
  }

  /** One page of jobs, newest first, filtered by state, type and priority. */
  async list(options: ListOptions = {}): Promise<JobPage> {
    const request = {
      state: options.state ? STATE_TO_PB[options.state] : PbState.JOB_STATE_UNSPECIFIED,
      type: options.type ?? "",
      priority: options.priority ? PRIORITY_TO_PB[options.priority] : PbPriority.PRIORITY_UNSPECIFIED,
      pageSize: options.pageSize ?? 0,
      pageToken: options.pageToken ?? "",
      idPrefix: options.idPrefix ?? "",
    };
    const response = await this.call<{ jobs: Parameters<typeof jobFromPb>[0][]; nextPageToken: string }>(
      (b, md, o, cb) => b.jobs.listJobs(request, md, o, cb),
      true,
    );
    return { jobs: response.jobs.map(jobFromPb), nextPageToken: response.nextPageToken };
  }

  /** Cancel a job that has not finished; a running handler is told to stop. */
  async cancel(ref: JobRef): Promise<{ state: JobState; cancelled: boolean }> {
    const response = await this.call<{ state: PbState; cancelled: boolean }>(
      (b, md, o, cb) => b.jobs.cancelJob({ jobId: idOf(ref) }, md, o, cb),
      true,
    );
    return { state: stateName(response.state), cancelled: response.cancelled };
  }

  /**
   * The job's state changes as they happen, starting with its current state; ends after
   * a final state. A broken stream is reopened (on the next broker) and goes on.
   */
  async *watch<K extends keyof T & string>(
    ref: JobRef<K>,
    options: WaitOptions = {},
  ): AsyncGenerator<Job<T[K]["payload"], T[K]["result"]>> {
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    let delayMs = 100;
    for (;;) {
      const call = this.conn.broker.jobs.watchJob(
        { jobId: idOf(ref) },
        this.conn.metadata(),
        deadline === undefined ? {} : { deadline },
      );
      const abort = () => call.cancel();
      options.signal?.addEventListener("abort", abort, { once: true });
      try {
        for await (const message of call as AsyncIterable<WatchJobResponse>) {
          delayMs = 100;
          if (!message.job) continue;
          const job = jobFromPb(message.job) as Job<T[K]["payload"], T[K]["result"]>;
          yield job;
          if (FINAL_STATES.has(job.state)) return;
        }
        return; // the broker ends the stream after a final state
      } catch (error) {
        options.signal?.throwIfAborted();
        if (!isUnavailable(error) || (deadline !== undefined && Date.now() >= deadline)) {
          throw fromServiceError(error as grpc.ServiceError);
        }
        this.conn.rotate();
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(delayMs * 2, 2_000);
      } finally {
        options.signal?.removeEventListener("abort", abort);
        call.cancel();
      }
    }
  }

  /**
   * Wait for the job to finish and return its result. Throws JobFailedError when it
   * ended dead or cancelled, ConnectionError (DEADLINE_EXCEEDED) after `timeoutMs`.
   */
  async result<K extends keyof T & string>(ref: JobRef<K>, options: WaitOptions = {}): Promise<T[K]["result"]> {
    for await (const job of this.watch(ref, options)) {
      if (job.state === "succeeded") return job.result as T[K]["result"];
      if (job.state === "dead" || job.state === "cancelled") {
        // The watch snapshots omit the history; the error says why, so fetch it.
        throw new JobFailedError((await this.get(ref)) as Job);
      }
    }
    throw new GopherError("INTERNAL", `watch of job ${idOf(ref)} ended before a final state`);
  }

  /** Close the connections. Safe twice. */
  close(): void {
    this.conn.close();
  }
}
