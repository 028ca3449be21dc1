"""AdminService.GetClusterStatus: the partitions each Redis master holds, every
partition's depth, and the balance of both. Mixed into `AdminService`, which owns the
store; a read, so the view role may call it like every other Get."""

from __future__ import annotations

from typing import Any

import grpc
from gopher.v1 import admin_service_pb2 as pb

from gopher_server.status import unary
from gopher_server.store.cluster_status import cluster_status
from gopher_server.store.store import Store

Context = grpc.aio.ServicerContext[Any, Any]


class ClusterStatusActions:
    """The placement and balance report."""

    store: Store

    @unary
    async def GetClusterStatus(
        self, request: pb.GetClusterStatusRequest, context: Context
    ) -> pb.GetClusterStatusResponse:
        status = await cluster_status(self.store)
        b = status.balance
        return pb.GetClusterStatusResponse(
            cluster=status.cluster,
            partition_count=len(status.partitions),
            masters=[
                pb.ClusterMaster(
                    address=m.address,
                    slot_ranges=m.slot_ranges,
                    slots=m.slots,
                    partitions=m.partitions,
                    replicas=m.replicas,
                    load=m.load,
                )
                for m in status.masters
            ],
            partitions=[
                pb.PartitionStatus(
                    index=p.index,
                    tag=p.tag,
                    slot=p.slot,
                    master=p.master,
                    ready=p.ready,
                    scheduled=p.scheduled,
                    retrying=p.retrying,
                    active=p.active,
                    dead=p.dead,
                )
                for p in status.partitions
            ],
            balance=pb.ClusterBalance(
                mean_partitions_per_master=b.mean_partitions_per_master,
                max_partitions_per_master=b.max_partitions_per_master,
                mean_partition_load=b.mean_partition_load,
                max_partition_load=b.max_partition_load,
            ),
        )
