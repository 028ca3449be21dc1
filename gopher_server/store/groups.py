"""Reading groups back (they are written and completed by lua/_groups.lua)."""

from __future__ import annotations

from gopher_server.store._text import text
from gopher_server.store.records import GroupRecord
from gopher_server.store.store import Store

_FIELDS = ("state", "members", "follow_ups", "created", "finished", "idem")


def _ids(csv: str) -> list[str]:
    return csv.split(",") if csv else []


async def get_group(store: Store, group_id: str) -> GroupRecord | None:
    """The group's record with every member's current state, or None if there is no
    such group (never submitted, or expired after its retention)."""
    if store.part_of(group_id) is None:
        return None
    keys = store.job_keys(group_id)  # a group lives in its members' partition
    key = keys.group(group_id)
    raw = await store.redis.hmget(key, _FIELDS)
    if raw[0] is None:
        return None
    state, members, follow_ups, created, finished, idem = (
        "" if v is None else text(v) for v in raw
    )
    member_ids = _ids(members)
    async with store.redis.pipeline(transaction=False) as pipe:
        for member_id in member_ids:
            pipe.hget(keys.job(member_id), "state")
        # The state a member was counted final in, for members whose record expired.
        pipe.hmget(key, [f"o:{m}" for m in member_ids] or ["o:"])
        replies = await pipe.execute()
    counted = replies[-1]
    states = []
    for live, outcome in zip(replies[:-1], counted, strict=False):
        if live is None and outcome is not None:
            live = _outcome_state(outcome)
        states.append(live or "")
    return GroupRecord(
        id=group_id,
        state=state,
        member_ids=member_ids,
        member_states=states,
        follow_up_ids=_ids(follow_ups),
        created_ms=int(created or 0),
        finished_ms=int(finished or 0),
        idempotency_key=idem,
    )


def _outcome_state(outcome: str) -> str:
    # Outcomes are written as {"id":...,"type":...,"state":"<word>",...}; the word has
    # no quotes of its own, so a split finds it without decoding a possibly large result.
    _, _, rest = outcome.partition('"state":"')
    return rest.partition('"')[0]
