"""The groups side of the chaos workload: a thread that submits the planned groups
through faults (retrying each with the group's idempotency key, so a retry never makes
a second group) and steers the special members while faults go on: requeues REVIVE
members from the DLQ while their group runs and LATE members after it completed, and
cancels HELD members (scheduled) and STOPPED ones (while they run)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from gopher_client import Client, GopherError, JobState
from tests.chaos.group_plan import GroupPlan, Kind

T = TypeVar("T")
STEER_PAUSE_S = 0.2  # between passes over the open steering tasks once all are submitted


@dataclass
class Submitted:
    """A group the broker acknowledged."""

    plan: GroupPlan
    group_id: str
    member_ids: list[str]

    def members_of(self, kind: Kind) -> list[str]:
        """Ids of the members of `kind`."""
        return [
            i for i, m in zip(self.member_ids, self.plan.members, strict=True) if m.kind is kind
        ]


class GroupSubmitter(threading.Thread):
    """Submits `plans` evenly over `duration_s`, round-robin over the brokers, steering
    after each submit; then steers until every task is done or `stop` is set."""

    def __init__(
        self, addresses: list[str], plans: list[GroupPlan], duration_s: float, seed: int
    ) -> None:
        super().__init__(name="chaos-groups", daemon=True)
        self.addresses = addresses
        self.plans = plans
        self.duration_s = duration_s
        self.rng = random.Random(seed)
        self.groups: list[Submitted] = []
        self.conflicts: list[str] = []  # a group key that named two groups
        self.failed_calls = 0
        self.steered = 0  # requeues and cancels that the broker accepted
        self.stop = threading.Event()
        self._open: list[Callable[[Client], bool]] = []
        self._turn = 0

    def _client(self) -> Client:
        self._turn += 1
        return self._clients[self._turn % len(self._clients)]

    def _submit(self, plan: GroupPlan) -> Submitted | None:
        requests = [m.request(self.rng) for m in plan.members]
        attempt = 0
        while not self.stop.is_set():
            try:
                answer = self._client().submit_group(
                    requests, idempotency_key=plan.key, **plan.request_kwargs()
                )
                return Submitted(plan, answer.group_id, answer.job_ids)
            except GopherError:  # the answer may be lost, not the submit: retry
                self.failed_calls += 1
                attempt += 1
                self.stop.wait(min(0.05 * 2**attempt, 1.0))
        return None

    def _steer(self) -> None:
        """One pass over the open tasks: each makes at most a step; errors wait a pass."""
        still_open = []
        for task in self._open:
            try:
                done = task(self._client())
            except GopherError:
                self.failed_calls += 1
                done = False
            if not done:
                still_open.append(task)
        self._open = still_open

    def _tasks(self, group: Submitted) -> None:
        held = group.members_of(Kind.HELD)
        revive = group.members_of(Kind.REVIVE)
        for member in group.members_of(Kind.LATE):
            self._open.append(self._revive_after(group.group_id, member))
        if revive:
            self._open.append(self._revive_then_cancel(revive[0], held[0]))
        elif held:
            self._open.append(self._cancel(held[0]))
        for member in group.members_of(Kind.STOPPED):
            self._open.append(self._cancel(member, once_active=True))

    def _requeue_until_succeeded(self, client: Client, job_id: str) -> bool:
        state = client.get_job(job_id).state
        if state == JobState.DEAD:
            # A requeued member can die again (a kill with retries=0): requeue it again.
            client.requeue_dead_job(job_id)
            self.steered += 1
        return state == JobState.SUCCEEDED

    def _cancel(self, job_id: str, once_active: bool = False) -> Callable[[Client], bool]:
        """Cancel `job_id` (`once_active`: only while a worker runs it)."""

        def step(client: Client) -> bool:
            state = client.get_job(job_id).state
            if state == JobState.CANCELLED:
                return True
            if once_active and state != JobState.ACTIVE:
                return False
            client.cancel_job(job_id)
            self.steered += 1
            return False  # done once a later pass reads it back

        return step

    def _revive_then_cancel(self, member: str, held: str) -> Callable[[Client], bool]:
        cancel = self._cancel(held)
        revived = False

        def step(client: Client) -> bool:
            nonlocal revived
            revived = revived or self._requeue_until_succeeded(client, member)
            return revived and cancel(client)

        return step

    def _revive_after(self, group_id: str, member: str) -> Callable[[Client], bool]:
        def step(client: Client) -> bool:
            if not client.get_group(group_id).is_final:
                return False
            return self._requeue_until_succeeded(client, member)

        return step

    def run(self) -> None:
        self._clients = [Client(address, timeout_s=5) for address in self.addresses]
        began = time.monotonic()
        try:
            for i, plan in enumerate(self.plans):
                group = self._submit(plan)
                if group is None:
                    return
                if group.group_id in {g.group_id for g in self.groups}:
                    self.conflicts.append(plan.key)
                self.groups.append(group)
                self._tasks(group)
                self._steer()
                due = began + (i + 1) * self.duration_s / len(self.plans)
                self.stop.wait(max(0.0, due - time.monotonic()))
            while self._open and not self.stop.is_set():
                self._steer()
                self.stop.wait(STEER_PAUSE_S)
        finally:
            for client in self._clients:
                client.close()

    @property
    def open_tasks(self) -> int:
        """Steering tasks not done (0 after a complete run)."""
        return len(self._open)
