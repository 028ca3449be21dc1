/**
 * Batches acks and nacks: whatever finished while the last call was in flight goes out
 * in the next one, so a busy worker sends one call per batch, not per job. Outcomes are
 * retried through broker outages until their lease deadline (after it, the broker has
 * recovered the job anyway).
 */
import type { Connection } from "./connection";
import { ConnectionError } from "./errors";
import type { AckJobRequest, NackJobRequest, Outcome as PbOutcome } from "./gen/gopher/v1/worker_service";
import { OutcomeCode } from "./gen/gopher/v1/worker_service";
import type { Logger } from "./log";

/** The broker's default batch limit. */
const MAX_BATCH = 500;

interface Pending<T> {
  request: T;
  deadlineMs: number;
}

export class OutcomeBatcher {
  private acks: Pending<AckJobRequest>[] = [];
  private nacks: Pending<NackJobRequest>[] = [];
  private sending = false;
  private scheduled = false;
  private stopped = false;
  private delayMs = 50;
  private idleWaiters: (() => void)[] = [];
  /** Outcomes the broker refused because the lease was stale or unknown. */
  stale = 0;

  constructor(
    private readonly conn: Connection,
    private readonly workerId: string,
    private readonly log: Logger,
  ) {}

  /** Queue a success for the next batch. */
  ack(request: AckJobRequest, deadlineMs: number): void {
    this.acks.push({ request, deadlineMs });
    this.kick();
  }

  /** Queue a failure or hand-back for the next batch. */
  nack(request: NackJobRequest, deadlineMs: number): void {
    this.nacks.push({ request, deadlineMs });
    this.kick();
  }

  /** True when nothing is queued or in flight. */
  get idle(): boolean {
    return !this.sending && !this.scheduled && this.acks.length === 0 && this.nacks.length === 0;
  }

  /** Resolve once everything queued was sent (or given up); false after `timeoutMs`. */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.idle) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stop sending; queued outcomes are dropped (their leases expire). Safe twice. */
  stop(): void {
    this.stopped = true;
    this.acks = [];
    this.nacks = [];
    this.settle();
  }

  private kick(): void {
    if (this.sending || this.scheduled || this.stopped) return;
    this.scheduled = true;
    // Let handlers that are already runnable finish first, so one call carries every
    // outcome of this event-loop pass instead of just the first one.
    setImmediate(() => {
      this.scheduled = false;
      void this.send();
    });
  }

  private settle(): void {
    if (!this.idle && !this.stopped) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async send(): Promise<void> {
    if (this.stopped) return this.settle();
    const acks = this.acks.splice(0, MAX_BATCH);
    const nacks = this.nacks.splice(0, MAX_BATCH);
    if (acks.length === 0 && nacks.length === 0) return this.settle();
    this.sending = true;
    try {
      await Promise.all([this.sendAcks(acks), this.sendNacks(nacks)]);
      this.delayMs = 50;
    } catch (error) {
      const retry = error instanceof ConnectionError;
      this.log.warn(
        `could not report ${acks.length + nacks.length} outcome(s): ${(error as Error).message}` +
          (retry ? "; retrying" : "; dropped (the broker re-runs those jobs when their leases expire)"),
      );
      if (retry) {
        this.requeue(acks, nacks);
        this.conn.rotate();
        await new Promise((r) => setTimeout(r, this.delayMs));
        this.delayMs = Math.min(this.delayMs * 2, 2_000);
      }
    } finally {
      this.sending = false;
    }
    if (this.acks.length || this.nacks.length) this.kick();
    else this.settle();
  }

  private requeue(acks: Pending<AckJobRequest>[], nacks: Pending<NackJobRequest>[]): void {
    const now = Date.now();
    const liveAcks = acks.filter((a) => a.deadlineMs > now);
    const liveNacks = nacks.filter((n) => n.deadlineMs > now);
    const dropped = acks.length + nacks.length - liveAcks.length - liveNacks.length;
    if (dropped) {
      this.log.warn(`dropped ${dropped} outcome(s) whose lease expired; the broker re-runs those jobs`);
    }
    this.acks = [...liveAcks, ...this.acks];
    this.nacks = [...liveNacks, ...this.nacks];
  }

  private async sendAcks(acks: Pending<AckJobRequest>[]): Promise<void> {
    if (acks.length === 0) return;
    // capacity 0: this worker's prefetch is fixed; its stream keeps its opening capacity.
    const request = { acks: acks.map((a) => a.request), workerId: this.workerId, capacity: 0 };
    const response = await this.conn.unary<{ outcomes: PbOutcome[] }>((b, md, o, cb) =>
      b.workers.ackJobs(request, md, o, cb),
    );
    this.countRefused(response.outcomes);
  }

  private async sendNacks(nacks: Pending<NackJobRequest>[]): Promise<void> {
    if (nacks.length === 0) return;
    const request = { nacks: nacks.map((n) => n.request) };
    const response = await this.conn.unary<{ outcomes: PbOutcome[] }>((b, md, o, cb) =>
      b.workers.nackJobs(request, md, o, cb),
    );
    this.countRefused(response.outcomes);
  }

  private countRefused(outcomes: PbOutcome[]): void {
    for (const outcome of outcomes) {
      if (outcome.code !== OutcomeCode.OUTCOME_CODE_OK) {
        this.stale += 1;
        this.log.info(`outcome for job ${outcome.jobId} refused: ${outcome.message}`);
      }
    }
  }
}
