"""The checks on the groups of the chaos workload, after the run: from the broker
(GetGroup, GetJob) and from what the handlers recorded (their runs, and the payload
each follow-up was given)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from gopher_client import Client, Group, Job, JobState
from tests.chaos.group_workload import Submitted
from tests.lifecycle.handlers import OBSERVED_KEY, runs_key, seen_key

LEASE_LOSS = frozenset({"WorkerLost", "LeaseExpired"})
EXAMPLES = 5  # problems listed per kind


@dataclass
class GroupReport:
    """What happened to the groups. `problems` maps a kind of failure to examples."""

    groups: int = 0
    members: int = 0
    follow_ups: int = 0  # follow-ups the groups' outcomes created
    chained: int = 0  # steps chained after members and after follow-ups
    states: Counter[str] = field(default_factory=Counter)
    executions: int = 0  # every group job's handler runs
    duplicate_executions: int = 0
    lease_lost_jobs: int = 0
    # Groups whose completing member (the one that finished when the group did) had
    # lost a lease first: the fan-in ran in that member's re-run.
    completed_by_rerun: int = 0
    cancelled_running: int = 0  # members cancelled while a worker ran them
    steered: int = 0
    problems: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, kind: str, detail: str) -> None:
        """Note one problem (the first few of each kind are kept)."""
        seen = self.problems.setdefault(kind, [])
        if len(seen) < EXAMPLES:
            seen.append(detail)

    def summary(self) -> str:
        """The run's figures, one per line."""
        return "\n".join(
            [
                "chaos groups summary",
                f"  groups:                    {self.groups} {dict(self.states)}",
                f"  members:                   {self.members}",
                f"  follow-ups created:        {self.follow_ups}",
                f"  chained steps:             {self.chained}",
                f"  requeues and cancels:      {self.steered}",
                f"  executions:                {self.executions}",
                f"  duplicate executions:      {self.duplicate_executions}",
                f"  jobs with a lost lease:    {self.lease_lost_jobs}",
                f"  completed by a re-run:     {self.completed_by_rerun}",
                f"  cancelled while running:   {self.cancelled_running}",
                f"  problems (must be none):   {self.problems}",
            ]
        )


class _Checker:
    def __init__(self, client: Client, recorder: redis.Redis, report: GroupReport) -> None:
        self.client = client
        self.recorder = recorder
        self.report = report

    def job(self, job_id: str, final: str, planned_failures: bool = False) -> Job:
        """Read a job, check it ended in `final` and ran no more often than its errors
        explain (a run is repeated only after a failure or a lost lease)."""
        job = self.client.get_job(job_id)
        runs = int(self.recorder.llen(runs_key(job_id)))
        self.report.executions += runs
        self.report.duplicate_executions += max(0, runs - 1)
        losses = sum(1 for e in job.errors if e.error_type in LEASE_LOSS)
        self.report.lease_lost_jobs += losses > 0
        if str(job.state) != final:
            self.report.problem("wrong job state", f"{job_id}: {job.state}, not {final}")
        if sum(1 for e in job.history if e.to_state == JobState.SUCCEEDED) > 1:
            self.report.problem("succeeded twice", job_id)
        explained = len(job.errors) if planned_failures else losses
        if runs > 1 + explained:
            self.report.problem("re-run unexplained", f"{job_id}: {runs} runs, {job.errors}")
        if final == "succeeded" and runs == 0:
            self.report.problem("succeeded without running", job_id)
        return job

    def seen(self, job_id: str) -> Any:
        """The payload the job's "chaos.observe" handler was given (None: never ran)."""
        raw = self.recorder.get(seen_key(job_id))
        return None if raw is None else orjson.loads(raw)

    def step(self, parent: Job, result: Any) -> str | None:
        """Check the one step chained after `parent` saw its outcome; its id."""
        if len(parent.follow_up_ids) != 1:
            self.report.problem("chain step missing", f"{parent.id}: {parent.follow_up_ids}")
            return None
        (step_id,) = parent.follow_up_ids
        self.job(step_id, "succeeded")
        seen = self.seen(step_id) or {}
        expected = {"id": parent.id, "type": parent.type, "state": "succeeded", "result": result}
        if seen.get("parent") != expected:
            self.report.problem("chain step payload", f"{step_id}: {seen.get('parent')}")
        self.report.chained += 1
        return step_id

    def outcome(self, group: Submitted, state: str, members: list[Any]) -> str | None:
        """What is wrong with a group outcome as a follow-up saw it (None: nothing)."""
        if len(members) != len(group.member_ids):
            return f"{len(members)} members, not {len(group.member_ids)}"
        for seen, member_id, member in zip(
            members, group.member_ids, group.plan.members, strict=True
        ):
            want: dict[str, Any] = {
                "id": member_id,
                "type": member.job_type,
                "state": member.counted_state,
            }
            if member.counted_state == "succeeded":
                want["result"] = {"tag": member.tag}
            elif member.counted_state == "dead":
                want["error"] = seen.get("error") or "(an error)"
            if seen != want:
                return f"member {member_id}: {seen}, not {want}"
        return None if state == group.plan.state else f"state {state}"

    def group(self, group: Submitted) -> list[str]:
        """Check one group; return the ids of its jobs that ran "chaos.observe"."""
        plan, gid = group.plan, group.group_id
        record = self.client.get_group(gid)
        self.report.states[str(record.state)] += 1
        if not record.is_final:
            self.report.problem("group left incomplete", gid)
            return []
        if str(record.state) != plan.state:
            self.report.problem("wrong group state", f"{gid}: {record.state}, not {plan.state}")
        if record.member_ids != group.member_ids:
            self.report.problem("wrong member ids", gid)
        observed = self.members(group, record)
        self.report.follow_ups += len(record.follow_up_ids)
        kinds = []
        for fid in record.follow_up_ids:
            job = self.job(fid, "succeeded")
            seen = self.seen(fid)
            if seen is None or job.parent_group_id != gid:
                self.report.problem("follow-up not run or not the group's", f"{gid}: {fid}")
                continue
            observed.append(fid)
            kinds.append(seen.get("kind"))
            if seen != job.payload:
                self.report.problem("follow-up saw another payload", fid)
            outcome = seen.get("group", {})
            wrong = outcome.get("id") != gid and "another group's id"
            wrong = wrong or self.outcome(group, outcome.get("state"), outcome.get("members", []))
            if wrong:
                self.report.problem("wrong group outcome", f"{gid} -> {fid}: {wrong}")
            if seen.get("kind") == "complete" and plan.chain_next:
                observed.append(self.step(job, {"seen": fid}) or "")
        if kinds != plan.follow_up_kinds:
            self.report.problem("wrong follow-ups", f"{gid}: {kinds}, not {plan.follow_up_kinds}")
        return observed

    def members(self, group: Submitted, record: Group) -> list[str]:
        """Check a group's members and GetGroup's counts of them; return the ids of
        the steps chained after them."""
        steps, live, by_rerun = [], Counter[str](), False
        for member_id, member in zip(group.member_ids, group.plan.members, strict=True):
            job = self.job(member_id, member.final_state, planned_failures=True)
            live[str(job.state)] += 1
            last = job.history[-1] if job.history else None
            self.report.cancelled_running += bool(
                last and last.to_state == JobState.CANCELLED and last.from_state == JobState.ACTIVE
            )
            by_rerun = by_rerun or (
                job.finished_at == record.finished_at
                and any(e.error_type in LEASE_LOSS for e in job.errors)
            )
            if member.chained and member.final_state == "succeeded":
                steps.append(self.step(job, {"tag": member.tag}) or "")
        self.report.members += len(group.member_ids)
        self.report.completed_by_rerun += by_rerun
        reported = {str(state): n for state, n in record.counts.items() if n}
        if reported != dict(live):
            self.report.problem("GetGroup counts", f"{group.group_id}: {reported} vs {dict(live)}")
        return steps


def check_groups(
    address: str, recorder_url: str, groups: list[Submitted], report: GroupReport
) -> int:
    """Fill `report` from every group's record, its jobs and what handlers recorded;
    return how many jobs the groups made (members, follow-ups, steps)."""
    report.groups = len(groups)
    with Client(address, timeout_s=10) as client, redis.Redis.from_url(recorder_url) as recorder:
        checker = _Checker(client, recorder, report)
        expected: set[str] = set()
        for group in groups:
            expected.update(checker.group(group))
        observed = {raw.decode() for raw in recorder.smembers(OBSERVED_KEY)}
    # A follow-up or step that ran but no group or chain accounts for: made twice.
    for extra in sorted(observed - expected)[:EXAMPLES]:
        report.problem("observe job nobody expected", extra)
    return report.members + report.follow_ups + report.chained


def expected_dead(groups: list[Submitted]) -> int:
    """Members that must end in the DLQ."""
    return sum(m.final_state == "dead" for g in groups for m in g.plan.members)
