"""AdminService.ListJobTypes: each job type with its defaults, live workers and depth.
Mixed into `AdminService`, which owns the store; the catalog is the broker's."""

from __future__ import annotations

from typing import Any

import grpc
from gopher.v1 import admin_service_pb2 as pb

from gopher_server.components.type_catalog import TypeCatalog
from gopher_server.status import unary
from gopher_server.store import admin
from gopher_server.store.store import Store
from gopher_server.type_defaults import defaults_message

Context = grpc.aio.ServicerContext[Any, Any]


class JobTypeActions:
    """The job type listing."""

    store: Store
    catalog: TypeCatalog

    @unary
    async def ListJobTypes(
        self, request: pb.ListJobTypesRequest, context: Context
    ) -> pb.ListJobTypesResponse:
        # Fresh from Redis rather than the cached view: operators expect what is true now.
        await self.catalog.refresh()
        view = self.catalog.view
        depth: dict[str, int] = {}
        for queue in (await admin.queue_stats(self.store)).queues:
            for job_type, count in queue.by_type.items():
                depth[job_type] = depth.get(job_type, 0) + count
        infos = []
        for job_type in sorted(view.known | set(depth)):
            info = pb.JobTypeInfo(
                type=job_type,
                worker_ids=view.workers.get(job_type, ()),
                depth=depth.get(job_type, 0),
                known=job_type in view.known,
            )
            if job_type in view.defaults:
                info.defaults.CopyFrom(defaults_message(job_type, view.defaults[job_type]))
            infos.append(info)
        return pb.ListJobTypesResponse(types=infos)
