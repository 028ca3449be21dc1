/**
 * The delivery stream: open StreamJobs on the current broker, hand each message to the
 * worker, and when it breaks reconnect with backoff (0.1 s doubling to 5 s), moving on
 * to the next listed broker each time.
 */
import * as grpc from "@grpc/grpc-js";
import type { Connection } from "./connection";
import type { StreamJobsRequest, StreamJobsResponse } from "./gen/gopher/v1/worker_service";
import type { Logger } from "./log";

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export class Receiver {
  private call: grpc.ClientReadableStream<StreamJobsResponse> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delayMs = RECONNECT_MIN_MS;
  private stopped = true;
  /** True while a stream is open and the broker has answered on it. */
  connected = false;

  constructor(
    private readonly conn: Connection,
    private readonly request: StreamJobsRequest,
    private readonly onMessage: (message: StreamJobsResponse) => void,
    private readonly onConnected: (connected: boolean) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  /** Close the stream (the broker then releases what this stream holds). Safe twice. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    this.setConnected(false);
  }

  private setConnected(value: boolean): void {
    if (this.connected === value) return;
    this.connected = value;
    this.onConnected(value);
  }

  private open(): void {
    const index = this.conn.index;
    const broker = this.conn.brokers[index];
    const call = broker.workers.streamJobs(this.request, this.conn.metadata());
    this.call = call;
    const up = () => {
      if (this.call !== call) return;
      this.delayMs = RECONNECT_MIN_MS;
      this.conn.use(index); // outcomes go where the stream is: acks then refill it
      this.setConnected(true);
    };
    call.on("metadata", up);
    call.on("data", (message: StreamJobsResponse) => {
      if (this.call !== call) return;
      up();
      this.onMessage(message);
    });
    let ended = false;
    const end = (error?: grpc.ServiceError) => {
      if (ended || this.call !== call) return;
      ended = true;
      this.call = undefined;
      this.setConnected(false);
      if (this.stopped) return;
      if (error?.code === grpc.status.INVALID_ARGUMENT || error?.code === grpc.status.RESOURCE_EXHAUSTED) {
        this.log.error(`broker ${broker.address} refused the worker: ${error.details}`);
      } else if (error) {
        this.log.warn(
          `stream to broker ${broker.address} lost (${grpc.status[error.code]}: ${error.details}); ` +
            `reconnecting in ${(this.delayMs / 1000).toFixed(1)}s`,
        );
      } else {
        this.log.info(`broker ${broker.address} closed the stream; reconnecting`);
      }
      this.conn.rotate();
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.stopped) this.open();
      }, this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, RECONNECT_MAX_MS);
    };
    call.on("error", end);
    call.on("end", () => end());
  }
}
