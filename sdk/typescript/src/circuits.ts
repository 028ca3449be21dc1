/**
 * Sends circuit-breaker changes to the brokers (`ReportCircuit`): only the latest state
 * per type, one call at a time, retried with backoff (0.1 s doubling to 5 s) through
 * outages so the brokers' view converges on the worker's.
 */
import type { CircuitStateName } from "./breaker";
import type { Connection } from "./connection";
import { ConnectionError } from "./errors";
import { CircuitState } from "./gen/gopher/v1/worker_service";
import type { Logger } from "./log";

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
const STATES: Record<CircuitStateName, CircuitState> = {
  closed: CircuitState.CIRCUIT_STATE_CLOSED,
  open: CircuitState.CIRCUIT_STATE_OPEN,
  half_open: CircuitState.CIRCUIT_STATE_HALF_OPEN,
};

interface Change {
  state: CircuitStateName;
  holdUntilMs: number;
}

export class CircuitReporter {
  private pending = new Map<string, Change>();
  private sending = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private delayMs = RETRY_MIN_MS;

  constructor(
    private readonly conn: Connection,
    private readonly workerId: string,
    private readonly log: Logger,
  ) {}

  /** Record a change; a newer one of the same type replaces it if not sent yet. */
  report(jobType: string, state: CircuitStateName, holdUntilMs: number): void {
    if (this.stopped) return;
    this.pending.set(jobType, { state, holdUntilMs });
    if (!this.sending && this.timer === undefined) void this.send();
  }

  /** Stop sending; unsent changes are dropped (the broker expires holds on its own). Safe twice. */
  stop(): void {
    this.stopped = true;
    this.pending.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async send(): Promise<void> {
    this.sending = true;
    try {
      while (!this.stopped && this.pending.size > 0) {
        const [jobType, change] = this.pending.entries().next().value as [string, Change];
        this.pending.delete(jobType);
        const request = {
          workerId: this.workerId,
          jobType,
          state: STATES[change.state],
          holdUntilUnixMs: change.holdUntilMs,
        };
        try {
          await this.conn.unary((b, md, o, cb) => b.workers.reportCircuit(request, md, o, cb));
          this.delayMs = RETRY_MIN_MS;
        } catch (error) {
          this.log.warn(
            `could not report circuit ${jobType}=${change.state}: ${(error as Error).message}; retrying`,
          );
          if (!this.pending.has(jobType)) this.pending.set(jobType, change);
          if (error instanceof ConnectionError) this.conn.rotate();
          this.timer = setTimeout(() => {
            this.timer = undefined;
            if (!this.stopped) void this.send();
          }, this.delayMs);
          this.delayMs = Math.min(this.delayMs * 2, RETRY_MAX_MS);
          return;
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
