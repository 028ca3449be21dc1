/** The generated contract types and grpc-js service clients, for what the SDK does not wrap:
 * `pb.job`, `pb.jobService`, `pb.workerService`, `pb.adminService`. */
export * as job from "./gen/gopher/v1/job";
export * as jobService from "./gen/gopher/v1/job_service";
export * as workerService from "./gen/gopher/v1/worker_service";
export * as adminService from "./gen/gopher/v1/admin_service";
