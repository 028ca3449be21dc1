"""The groups of the chaos workload, drawn from the seed before the run: what each
member does, which follow-ups each group has, and what the run must end with."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from gopher.v1 import job_service_pb2 as jobs_pb

from gopher_client import submit_request

# Plenty of retries wherever a job must not die: every lost lease spends an attempt.
RETRIES = 50
# A held member waits this long: only the workload's cancel ends it.
HELD_DELAY_S = 3600.0
STOPPED_RUN_S = 300.0  # a STOPPED member's run: only the workload's cancel ends it
SIZES = (1, 2, 3, 4, 6, 10)
LARGE_SIZE = 40  # one group in LARGE_EVERY is this big
LARGE_EVERY = 25
# Handlers sleep (members up to MEMBER_SLEEP_S) so that kills catch them running.
MEMBER_SLEEP_S = 0.4
FOLLOW_UP_SLEEP_S = 0.2


class Kind(enum.Enum):
    """What a member does, and how it ends."""

    OK = "ok"  # succeeds (each run that a kill does not cut short)
    FLAKY = "flaky"  # RetryAfter twice, then succeeds
    DEAD = "dead"  # retries=0 and always fails: dies
    REVIVE = "revive"  # retries=0, fails once and dies; the workload requeues it from
    #                    the DLQ while its group still runs (a HELD member keeps it open)
    LATE = "late"  # as REVIVE, but requeued only after its group completed
    HELD = "held"  # scheduled an hour ahead; the workload cancels it
    STOPPED = "stopped"  # runs for minutes ("chaos.long"); the workload cancels it
    #                      while it runs


# (state the member ends in, state its group counted it in)
_FINAL = {
    Kind.OK: ("succeeded", "succeeded"),
    Kind.FLAKY: ("succeeded", "succeeded"),
    Kind.DEAD: ("dead", "dead"),
    Kind.REVIVE: ("succeeded", "succeeded"),
    Kind.LATE: ("succeeded", "dead"),  # the group completed while it was dead
    Kind.HELD: ("cancelled", "cancelled"),
    Kind.STOPPED: ("cancelled", "cancelled"),
}


@dataclass(frozen=True)
class Member:
    kind: Kind
    tag: str  # its result is {"tag": tag}
    chained: bool = False  # carries its own on_success step ("chaos.observe")

    @property
    def job_type(self) -> str:
        """The member's job type (each runs a handler of tests/lifecycle/handlers.py)."""
        return "chaos.long" if self.kind is Kind.STOPPED else "chaos.member"

    @property
    def final_state(self) -> str:
        """The state the member ends the run in."""
        return _FINAL[self.kind][0]

    @property
    def counted_state(self) -> str:
        """The state the group's outcome records for it."""
        return _FINAL[self.kind][1]

    def request(self, rng: random.Random) -> jobs_pb.SubmitJobRequest:
        """The member's submit request."""
        payload: dict[str, object] = {
            "tag": self.tag,
            "sleep_s": round(rng.uniform(0, MEMBER_SLEEP_S), 3),
        }
        retries = RETRIES
        delay_s = None
        if self.kind is Kind.FLAKY:
            payload |= {"fail_runs": 2, "how": "retry"}
        elif self.kind is Kind.DEAD:
            payload["fail_runs"] = 1_000_000
            retries = 0
        elif self.kind in (Kind.REVIVE, Kind.LATE):
            payload["fail_runs"] = 1
            retries = 0
        elif self.kind is Kind.HELD:
            delay_s = HELD_DELAY_S
        elif self.kind is Kind.STOPPED:
            payload["sleep_s"] = STOPPED_RUN_S
        steps = [submit_request("chaos.observe", {"kind": "step"}, retries=RETRIES)]
        return submit_request(
            self.job_type,
            payload,
            retries=retries,
            delay_s=delay_s,
            on_success=steps if self.chained else (),
        )


@dataclass(frozen=True)
class GroupPlan:
    key: str  # the group's idempotency key
    members: tuple[Member, ...]
    on_complete: bool
    on_success_failure: bool  # has both an on_success and an on_failure follow-up
    chain_next: bool  # the on_complete follow-up carries an on_success step of its own

    @property
    def state(self) -> str:
        """The state the group must end in."""
        counted = {m.counted_state for m in self.members}
        if "dead" in counted:
            return "failed"
        return "cancelled" if "cancelled" in counted else "succeeded"

    @property
    def follow_up_kinds(self) -> list[str]:
        """The follow-ups its outcome must submit (by payload "kind"), in order."""
        kinds = ["complete"] if self.on_complete else []
        if self.on_success_failure and self.state == "succeeded":
            kinds.append("success")
        if self.on_success_failure and self.state == "failed":
            kinds.append("failure")
        return kinds

    @property
    def jobs(self) -> int:
        """Every job this group must make: members, follow-ups and chained steps."""
        steps = sum(m.chained and m.final_state == "succeeded" for m in self.members)
        return len(self.members) + len(self.follow_up_kinds) + self.chain_next + steps

    def request_kwargs(self) -> dict[str, list[jobs_pb.SubmitJobRequest]]:
        """The follow-up arguments of `Client.submit_group`."""

        def observe(kind: str, then: bool = False) -> jobs_pb.SubmitJobRequest:
            nxt = [submit_request("chaos.observe", {"kind": "next"}, retries=RETRIES)]
            payload = {"kind": kind, "sleep_s": FOLLOW_UP_SLEEP_S}
            return submit_request(
                "chaos.observe", payload, retries=RETRIES, on_success=nxt if then else ()
            )

        kwargs: dict[str, list[jobs_pb.SubmitJobRequest]] = {}
        if self.on_complete:
            kwargs["on_complete"] = [observe("complete", self.chain_next)]
        if self.on_success_failure:
            kwargs["on_success"] = [observe("success")]
            kwargs["on_failure"] = [observe("failure")]
        return kwargs


# Special members by group number modulo 10; their groups' other members are all OK.
SPECIAL = {0: [Kind.REVIVE, Kind.HELD], 3: [Kind.HELD], 5: [Kind.LATE], 7: [Kind.STOPPED]}


def plan_groups(n: int, rng: random.Random) -> list[GroupPlan]:
    """`n` groups of varied sizes and members. Every tenth group revives a dead member
    while it runs, every tenth (offset 5) after it completed, every tenth (offset 3)
    has a scheduled member cancelled, every tenth (offset 7) a running one; the rest
    mix OK, FLAKY and DEAD members."""
    plans = []
    for g in range(n):
        size = LARGE_SIZE if g % LARGE_EVERY == LARGE_EVERY - 1 else rng.choice(SIZES)
        special = SPECIAL.get(g % 10, [])
        weights = (1, 0, 0) if special else (14, 3, 3)  # special groups fail only by design
        kinds = special + rng.choices([Kind.OK, Kind.FLAKY, Kind.DEAD], weights, k=size)
        members = tuple(
            Member(kind, f"g{g}/{i}", chained=kind is Kind.OK and i == len(special) and g % 4 == 1)
            for i, kind in enumerate(kinds[: max(size, len(special))])
        )
        on_complete, both = [(True, False), (False, True), (True, True)][g % 3]
        chain_next = on_complete and g % 2 == 0
        plans.append(GroupPlan(f"chaos-group-{g}", members, on_complete, both, chain_next))
    return plans
