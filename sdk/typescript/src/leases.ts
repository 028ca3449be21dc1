/**
 * Lease extension: while jobs are held (running or prefetched), their leases are pushed
 * out in one batched call once half of their TTL has passed, so a long job is never
 * recovered from a live worker. A refused extension means the lease was lost: the
 * handler is stopped rather than left to run the job twice.
 */
import type { Connection } from "./connection";
import { OutcomeCode, type Outcome as PbOutcome } from "./gen/gopher/v1/worker_service";
import type { Run } from "./job";
import type { Logger } from "./log";

/** How often leases are checked; TTLs down to about 1 s are safe. */
export const CHECK_INTERVAL_MS = 250;
const MAX_BATCH = 500;

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly conn: Connection,
    private readonly held: () => Iterable<Run>,
    private readonly lost: (run: Run, why: string) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), CHECK_INTERVAL_MS);
  }

  /** Stop extending. Safe before start and twice. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // the previous call is still out: never overlap
    const now = Date.now();
    const due = [...this.held()].filter((r) => !r.settled && r.deadlineMs - now < r.lease.leaseTtlMs / 2);
    if (due.length === 0) return;
    this.busy = true;
    try {
      for (let i = 0; i < due.length; i += MAX_BATCH) {
        const batch = due.slice(i, i + MAX_BATCH);
        const request = { leases: batch.map((r) => ({ jobId: r.id, leaseToken: r.lease.leaseToken, extendByS: 0 })) };
        const response = await this.conn.unary<{ outcomes: PbOutcome[] }>((b, md, o, cb) =>
          b.workers.extendLeases(request, md, o, cb),
        );
        response.outcomes.forEach((outcome, j) => {
          const run = batch[j];
          if (outcome.code === OutcomeCode.OUTCOME_CODE_OK) run.deadlineMs = outcome.leaseDeadlineUnixMs;
          else this.lost(run, outcome.message || "lease refused");
        });
      }
    } catch (error) {
      this.log.warn(`could not extend ${due.length} lease(s): ${(error as Error).message}`);
    } finally {
      this.busy = false;
    }
  }
}
