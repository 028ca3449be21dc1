/**
 * Where and how to reach the brokers: addresses, TLS, bearer token, keepalives. One
 * grpc-js channel per broker, shared by the service clients of that broker.
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { AdminServiceClient } from "./gen/gopher/v1/admin_service";
import { JobServiceClient } from "./gen/gopher/v1/job_service";
import { WorkerServiceClient } from "./gen/gopher/v1/worker_service";
import { fromServiceError } from "./errors";

export const DEFAULT_SERVER = "127.0.0.1:50051";
/** Largest message either side accepts; the broker enforces its own, smaller, limits. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Keepalive pings find a dead connection (a broker that vanished without a FIN) within
 * about 20 s, so a worker reconnects elsewhere instead of waiting forever; reconnects
 * after a broker restart start at 100 ms instead of grpc's 1 s.
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 2_000,
};

/** PEM material for TLS: a string is a file path, a Buffer the PEM bytes themselves. */
export interface TlsOptions {
  /** CA that signed the broker's certificate (default: the system roots). */
  ca?: string | Buffer;
  /** Client certificate, for mTLS (with `key`). */
  cert?: string | Buffer;
  /** Client private key, for mTLS (with `cert`). */
  key?: string | Buffer;
}

/** How to reach the brokers; shared by `Client` and `Worker`. */
export interface ConnectionOptions {
  /**
   * Broker address(es) as host:port: a list, or one string with commas. Default
   * $GOPHER_SERVER, else 127.0.0.1:50051. Calls go to the first that answers.
   */
  servers?: string | string[];
  /** Bearer token sent with every call (default $GOPHER_TOKEN). */
  token?: string;
  /** TLS (and mTLS) settings; `true` means TLS with the system roots. Default plaintext. */
  tls?: TlsOptions | boolean;
  /** Deadline of each unary call, in milliseconds (default 10000). */
  timeoutMs?: number;
}

/** The three service clients of one broker, on one channel. */
export interface Broker {
  readonly address: string;
  readonly jobs: JobServiceClient;
  readonly workers: WorkerServiceClient;
  readonly admin: AdminServiceClient;
}

function pem(value: string | Buffer | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === "string" ? readFileSync(value) : value;
}

/** Parse `servers` (list, or comma-separated) with the environment's default. */
export function serverList(servers: string | string[] | undefined): string[] {
  const raw = servers ?? process.env.GOPHER_SERVER ?? DEFAULT_SERVER;
  const list = (Array.isArray(raw) ? raw : raw.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new Error("servers must name at least one broker (host:port)");
  return list;
}

function credentials(tls: TlsOptions | boolean | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const o = tls === true ? {} : tls;
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new Error("tls.cert and tls.key go together (mTLS)");
  }
  return grpc.credentials.createSsl(pem(o.ca), pem(o.key), pem(o.cert));
}

/** The brokers of one Client or Worker, with the current one first in line. */
export class Connection {
  readonly brokers: Broker[];
  readonly timeoutMs: number;
  private readonly token: string | undefined;
  private current = 0;

  constructor(options: ConnectionOptions = {}) {
    const creds = credentials(options.tls);
    this.token = options.token ?? (process.env.GOPHER_TOKEN || undefined);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.brokers = serverList(options.servers).map((address) => {
      const channel = new grpc.Channel(address, creds, CHANNEL_OPTIONS);
      const shared = { channelOverride: channel };
      return {
        address,
        jobs: new JobServiceClient(address, creds, shared),
        workers: new WorkerServiceClient(address, creds, shared),
        admin: new AdminServiceClient(address, creds, shared),
      };
    });
  }

  /** The broker calls go to now. */
  get broker(): Broker {
    return this.brokers[this.current % this.brokers.length];
  }

  /** Index of the current broker. */
  get index(): number {
    return this.current % this.brokers.length;
  }

  /** Use `index` from now on (the worker's stream moved there). */
  use(index: number): void {
    this.current = index % this.brokers.length;
  }

  /** Move on to the next broker (the current one did not answer). */
  rotate(): void {
    this.current = (this.current + 1) % this.brokers.length;
  }

  /** Call metadata: the bearer token, if any. */
  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token) md.set("authorization", `Bearer ${this.token}`);
    return md;
  }

  /** Options of one unary call: its deadline. */
  callOptions(timeoutMs = this.timeoutMs): Partial<grpc.CallOptions> {
    return { deadline: Date.now() + timeoutMs };
  }

  /**
   * Run one unary call on the current broker. `invoke(broker, metadata, options, cb)`
   * makes the call; errors become GopherError subclasses.
   */
  unary<T>(
    invoke: (
      broker: Broker,
      md: grpc.Metadata,
      options: Partial<grpc.CallOptions>,
      callback: (error: grpc.ServiceError | null, response: T) => void,
    ) => unknown,
    timeoutMs?: number,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      invoke(this.broker, this.metadata(), this.callOptions(timeoutMs), (error, response) => {
        if (error) reject(fromServiceError(error));
        else resolve(response);
      });
    });
  }

  /** Close every channel. Safe twice. */
  close(): void {
    for (const broker of this.brokers) {
      broker.jobs.close();
      broker.workers.close();
      broker.admin.close();
    }
  }
}
