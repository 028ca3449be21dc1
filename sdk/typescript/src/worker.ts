/**
 * `Worker`: runs jobs from the brokers with registered handlers. One delivery stream,
 * bounded concurrency, batched outcomes, automatic lease extension, reconnects across
 * the listed brokers, and a graceful drain. docs/worker-protocol.md is the contract.
 */
import { hostname } from "node:os";
import { CircuitBreaker, type CircuitStateName } from "./breaker";
import { CircuitReporter } from "./circuits";
import { Connection } from "./connection";
import { execute, type Handler, type Outcome } from "./execution";
import { type StreamJobsResponse, WorkerControlAction } from "./gen/gopher/v1/worker_service";
import { Run, type WorkerJob } from "./job";
import { LeaseKeeper } from "./leases";
import { consoleLogger, type Logger } from "./log";
import { OutcomeBatcher } from "./outcomes";
import { Receiver } from "./stream";
import type { AnyJobs, JobTypes } from "./types";
import { checkedSettings, NAME, type HandleOptions, type WorkerOptions, type WorkerStats } from "./worker-options";

export type { HandleOptions, WorkerOptions, WorkerStats } from "./worker-options";

/** How long a draining worker keeps its stream open after its last hand-back, to catch
 * jobs already on the wire (dispatch and write are milliseconds apart on the broker). */
const DRAIN_SETTLE_MS = 300;

/**
 * Runs jobs of the registered types:
 *
 *     const worker = new Worker({ servers: "127.0.0.1:50051", concurrency: 8 });
 *     worker.handle("email", async (job) => send(job.payload, { signal: job.signal }));
 *     await worker.run(); // until SIGTERM or SIGINT, then drains
 */
export class Worker<T extends JobTypes = AnyJobs> {
  readonly workerId: string;
  readonly concurrency: number;
  readonly prefetch: number;
  readonly graceMs: number;
  private readonly options: WorkerOptions;
  private readonly handlers = new Map<string, Handler>();
  private readonly log: Logger;
  /** Deliveries held, by job id: running, or waiting for a slot. */
  private readonly held = new Map<string, Run>();
  private readonly waiting: Run[] = [];
  private busy = 0;
  private draining = false;
  /** Quieted by an operator (ControlWorker): take no new jobs, finish running ones. */
  private quiet = false;
  private conn: Connection | undefined;
  private outcomes: OutcomeBatcher | undefined;
  private leases: LeaseKeeper | undefined;
  private receiver: Receiver | undefined;
  private readonly breaker: CircuitBreaker | undefined;
  private circuits: CircuitReporter | undefined;
  private connectedWaiters: (() => void)[] = [];
  private stoppedWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private running = false;
  private counts = { completed: 0, failed: 0, expiredDeliveries: 0 };

  constructor(options: WorkerOptions = {}) {
    const settings = checkedSettings(options);
    this.workerId = settings.workerId;
    this.options = options;
    this.concurrency = settings.concurrency;
    this.prefetch = settings.prefetch;
    this.graceMs = settings.graceMs;
    this.log = options.logger ?? consoleLogger();
    const report = (type: string, state: CircuitStateName, untilMs: number) =>
      this.circuits?.report(type, state, untilMs);
    this.breaker = options.breaker === false ? undefined : new CircuitBreaker(options.breaker ?? {}, report, this.log);
  }

  /**
   * Register the handler of a job type. It gets the job (payload, attempt, signal...)
   * and returns the result (any JSON value; undefined is null). Throwing fails the
   * attempt: retried with backoff, or dead-lettered at once for a PermanentError;
   * RetryAfter sets the delay.
   */
  handle<K extends keyof T & string>(
    type: K,
    fn: (job: WorkerJob<T[K]["payload"]>) => T[K]["result"] | Promise<T[K]["result"]>,
    options: HandleOptions = {},
  ): this {
    if (!NAME.test(type)) throw new RangeError(`job type ${JSON.stringify(type)}: 1..128 of [A-Za-z0-9_.:-]`);
    if (this.running) throw new Error("register handlers before start()");
    this.handlers.set(type, { fn: fn as Handler["fn"], timeoutS: options.timeoutS });
    return this;
  }

  /** Job types with a handler. */
  get jobTypes(): string[] {
    return [...this.handlers.keys()].sort();
  }

  /** True while the stream to a broker is open. */
  get connected(): boolean {
    return this.receiver?.connected ?? false;
  }

  /** The circuit-breaker state of a job type ("closed" without a breaker). */
  circuitState(type: string): CircuitStateName {
    return this.breaker?.state(type) ?? "closed";
  }

  get stats(): WorkerStats {
    return { ...this.counts, refused: this.outcomes?.stale ?? 0, busy: this.busy };
  }

  /** Connect and start receiving jobs (returns at once; see `waitConnected`). */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.handlers.size === 0) throw new Error("no handlers registered: call handle() first");
    this.running = true;
    this.draining = false;
    this.quiet = false;
    const conn = new Connection(this.options);
    this.conn = conn;
    this.outcomes = new OutcomeBatcher(conn, this.workerId, this.log);
    this.circuits = new CircuitReporter(conn, this.workerId, this.log);
    this.leases = new LeaseKeeper(conn, () => this.held.values(), (run, why) => this.leaseLost(run, why), this.log);
    this.leases.start();
    const request = {
      workerId: this.workerId,
      jobTypes: this.jobTypes,
      capacity: this.concurrency * this.prefetch,
      hostname: hostname(),
      pid: process.pid,
      typeDefaults: [],
    };
    this.receiver = new Receiver(conn, request, (m) => this.onMessage(m), (up) => this.onConnected(up), this.log);
    this.receiver.start();
    this.log.info(
      `worker ${this.workerId} started: types ${this.jobTypes.join(",")}, concurrency ${this.concurrency}` +
        (this.prefetch > 1 ? `, prefetch ${this.prefetch}` : ""),
    );
  }

  /** Resolve once the stream is open (false after `timeoutMs`). */
  waitConnected(timeoutMs = 10_000): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.connectedWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Start, then run until SIGTERM or SIGINT and drain. A second signal stops at once.
   * Resolves when the worker has stopped.
   */
  async run(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.stoppedWaiters.push(resolve));
    let signals = 0;
    const onSignal = (name: string) => {
      signals += 1;
      if (signals === 1) {
        this.log.info(`${name}: draining`);
        void this.drain();
      } else {
        this.log.warn(`${name} again: stopping now`);
        this.stop();
      }
    };
    const term = () => onSignal("SIGTERM");
    const int = () => onSignal("SIGINT");
    process.on("SIGTERM", term);
    process.on("SIGINT", int);
    try {
      await this.start();
      await stopped;
    } finally {
      process.off("SIGTERM", term);
      process.off("SIGINT", int);
    }
  }

  /**
   * Stop taking jobs, let running handlers finish within `graceMs`, hand back (without
   * burning an attempt) whatever did not finish, then stop.
   *
   * The stream stays open until the end: closing it would make the broker release (and
   * re-run) jobs still running here. Jobs that arrive meanwhile are handed back at once;
   * the first hand-back tells the broker to send no more.
   */
  async drain(graceMs = this.graceMs): Promise<void> {
    if (!this.running || this.draining) return;
    this.draining = true;
    this.log.info(`worker ${this.workerId} draining (${this.busy} running, grace ${graceMs / 1000}s)`);
    for (const run of this.waiting.splice(0)) this.handBack(run);
    if (this.busy > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const run of this.held.values()) run.stop("drain", "the worker's drain ran out of grace");
    await new Promise((r) => setImmediate(r)); // let the stopped runs hand themselves back
    await this.outcomes?.flush(10_000);
    await new Promise((r) => setTimeout(r, DRAIN_SETTLE_MS));
    await this.outcomes?.flush(10_000);
    this.stop();
  }

  /** Close everything at once (no drain): running handlers are aborted and report
   * nothing; the broker releases their jobs. Safe before start and twice. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.receiver?.stop();
    this.leases?.stop();
    for (const run of this.held.values()) {
      run.settled = true;
      run.stop("stopped", "the worker stopped");
    }
    this.held.clear();
    this.waiting.length = 0;
    this.outcomes?.stop();
    this.circuits?.stop();
    this.conn?.close();
    this.log.info(`worker ${this.workerId} stopped`);
    for (const w of this.stoppedWaiters.splice(0)) w();
  }

  // -- receiving ----------------------------------------------------------------
  private onConnected(up: boolean): void {
    if (up) for (const w of this.connectedWaiters.splice(0)) w();
  }

  private onMessage(message: StreamJobsResponse): void {
    if (message.control !== undefined) this.onControl(message.control.action);
    // Deliveries first: a cancellation may concern a job in this same message.
    for (const lease of message.jobs) {
      const run = new Run(lease);
      if (this.draining) {
        this.handBack(run); // the broker then holds further jobs
        continue;
      }
      if (this.quiet) {
        this.handBack(run, false); // leased before the broker heard of the quiet
        continue;
      }
      if (this.breaker !== undefined && !this.breaker.admit(lease.type)) {
        this.handBack(run, false); // raced with an open circuit: unrun, no attempt used
        continue;
      }
      this.held.set(run.id, run); // a newer lease of the same job replaces the older one
      this.waiting.push(run);
    }
    for (const jobId of message.cancelledJobIds) {
      const run = this.held.get(jobId);
      if (run === undefined) continue;
      run.settled = true; // the broker already settled it: report nothing
      this.forget(run);
      run.stop("cancelled", "the job was cancelled");
      this.log.info(`job ${jobId} cancelled by the broker`);
    }
    this.pump();
  }

  /** An operator's instruction (docs/worker-protocol.md, "Operator control"). */
  private onControl(action: WorkerControlAction): void {
    if (action === WorkerControlAction.WORKER_CONTROL_ACTION_QUIET && !this.quiet) {
      // Prefetched jobs that have not started go back: other workers can run them now.
      this.quiet = true;
      this.log.info(`worker ${this.workerId} quiet: finishing ${this.busy} job(s)`);
      for (const run of this.waiting.splice(0)) this.handBack(run, false);
    } else if (action === WorkerControlAction.WORKER_CONTROL_ACTION_RESUME && this.quiet && !this.draining) {
      this.quiet = false;
      this.log.info(`worker ${this.workerId} resumed`);
    } else if (action === WorkerControlAction.WORKER_CONTROL_ACTION_STOP && !this.draining) {
      this.log.info(`worker ${this.workerId} told to stop: draining, then exiting`);
      this.quiet = true;
      void this.drain(); // the same graceful drain as SIGTERM; `run()` then resolves
    }
  }

  private pump(): void {
    while (this.busy < this.concurrency && this.waiting.length > 0 && !this.draining && !this.quiet) {
      const run = this.waiting.shift()!;
      if (run.settled || this.held.get(run.id) !== run) continue;
      if (Date.now() >= run.deadlineMs) {
        // Its lease ran out while it waited (a stalled process): the broker may have
        // given the job to someone else. Never start it; the broker recovers it.
        this.counts.expiredDeliveries += 1;
        this.forget(run);
        this.log.warn(`delivery of job ${run.id} dropped unstarted: its lease expired`);
        continue;
      }
      this.runOne(run);
    }
  }

  private runOne(run: Run): void {
    run.started = true;
    this.busy += 1;
    void execute(run, this.handlers.get(run.lease.type)).then((outcome) => this.finished(run, outcome));
  }

  private finished(run: Run, outcome: Outcome): void {
    this.busy -= 1;
    this.report(run, outcome);
    if (this.busy === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.pump();
  }

  private report(run: Run, outcome: Outcome): void {
    if (run.settled || !this.running) {
      this.forget(run);
      return;
    }
    const outcomes = this.outcomes!;
    const l = run.lease;
    if (outcome.kind === "ack") {
      this.counts.completed += 1;
      this.forget(run);
      if (run.ran) this.breaker?.record(l.type, false);
      outcomes.ack({ jobId: l.jobId, leaseToken: l.leaseToken, resultJson: outcome.resultJson }, run.deadlineMs);
    } else if (outcome.kind === "nack") {
      this.counts.failed += 1;
      this.forget(run);
      if (run.ran) this.breaker?.record(l.type, true);
      this.log.warn(`job ${l.jobId} (${l.type}) attempt ${l.attempt} failed: ${outcome.errorType}: ${outcome.message}`);
      outcomes.nack(
        {
          jobId: l.jobId,
          leaseToken: l.leaseToken,
          errorType: outcome.errorType,
          errorMessage: outcome.message,
          traceback: outcome.traceback,
          nonRetryable: outcome.nonRetryable,
          retryAfterS: outcome.retryAfterS,
          handback: false,
          draining: false,
        },
        run.deadlineMs,
      );
    } else if (outcome.reason.kind === "drain") {
      this.handBack(run);
    } else {
      this.forget(run);
    }
  }

  /** Give a delivery back unrun; `draining` also tells the broker to send no more. */
  private handBack(run: Run, draining = true): void {
    this.forget(run);
    if (run.settled) return;
    run.settled = true;
    this.outcomes?.nack(
      {
        jobId: run.id,
        leaseToken: run.lease.leaseToken,
        errorType: "",
        errorMessage: "",
        traceback: "",
        nonRetryable: false,
        handback: true,
        draining,
      },
      run.deadlineMs,
    );
  }

  private leaseLost(run: Run, why: string): void {
    if (run.settled) return;
    run.settled = true;
    this.forget(run);
    if (run.started) this.log.warn(`lease of job ${run.id} lost (${why}); stopping its handler`);
    run.stop("lease-lost", `the lease was lost: ${why}`);
  }

  /** Drop `run` from the held deliveries, unless a newer lease of its job replaced it. */
  private forget(run: Run): void {
    if (this.held.get(run.id) === run) this.held.delete(run.id);
    if (run.started) return; // a started run has left the waiting line
    const i = this.waiting.indexOf(run);
    if (i >= 0) this.waiting.splice(i, 1);
  }
}
