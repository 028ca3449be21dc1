"""The job type registry in Redis: a worker's defaults, registered types, liveness."""

from __future__ import annotations

import orjson
import pytest

from gopher_server.components.type_catalog import TypeCatalog
from gopher_server.store import job_types
from gopher_server.store import workers as registry
from gopher_server.store.job_types import TypeDefaults
from gopher_server.store.store import Store
from tests.conftest import FakeClock

ALIVE_MS = 30_000


async def open_stream(
    store: Store, worker_id: str, types: list[str], **defaults: TypeDefaults
) -> None:
    await registry.register_stream(
        store, worker_id, f"{worker_id}-s", hostname="h", pid=1, job_types=types, capacity=1
    )
    await job_types.register(store, worker_id, types, defaults)


async def test_register_stores_defaults_on_the_worker_and_the_type_set(store: Store) -> None:
    await open_stream(store, "w1", ["email", "sms"], email=TypeDefaults(retries=5, lease_ms=45_000))
    stored = await store.redis.hget(store.keys.worker("w1"), "defaults")
    assert stored is not None and orjson.loads(stored) == {
        "email": {"retries": 5, "lease_ms": 45_000}
    }
    assert await store.redis.smembers(store.keys.registered_types()) == {"email", "sms"}
    (live,) = await job_types.live_workers(store, ALIVE_MS)
    assert live.defaults == {"email": TypeDefaults(retries=5, lease_ms=45_000)}
    assert live.job_types == ("email", "sms")


async def test_a_worker_is_live_while_a_stream_beats(store: Store, clock: FakeClock) -> None:
    await open_stream(store, "closed", ["a"])
    await open_stream(store, "silent", ["b"])
    await open_stream(store, "beating", ["c"])
    await registry.unregister_stream(store, "closed", "closed-s")  # recent, but no stream
    clock.advance(ALIVE_MS - 1000)
    await registry.heartbeat(store, [("beating", "beating-s")])
    clock.advance(2000)  # "silent" is now past the window
    assert [w.worker_id for w in await job_types.live_workers(store, ALIVE_MS)] == ["beating"]
    # Every type stays registered: jobs of them are not flagged as unknown.
    assert await job_types.registered_types(store) == {"a", "b", "c"}


async def test_the_latest_stream_wins_and_others_fill_the_rest(
    store: Store, clock: FakeClock
) -> None:
    await open_stream(
        store, "old", ["email", "sms"], email=TypeDefaults(retries=5), sms=TypeDefaults(retries=2)
    )
    clock.advance(1000)
    await open_stream(store, "new", ["email", "sms"], email=TypeDefaults(retries=7))
    catalog = TypeCatalog(store, ALIVE_MS)
    await catalog.refresh()
    view = catalog.view
    assert view.defaults == {"email": TypeDefaults(retries=7), "sms": TypeDefaults(retries=2)}
    assert view.workers == {"email": ("new", "old"), "sms": ("new", "old")}
    assert view.known == {"email", "sms"}


async def test_a_stream_opened_while_a_refresh_reads_is_kept_in_the_view(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = TypeCatalog(store, ALIVE_MS)
    read_live = job_types.live_workers

    async def stream_opens_during_the_read(s: Store, alive_ms: int) -> list[job_types.LiveWorker]:
        live = await read_live(s, alive_ms)  # taken before the stream registered
        await open_stream(store, "w1", ["email"], email=TypeDefaults(retries=5))
        catalog.stream_opened("w1", ["email"], {"email": TypeDefaults(retries=5)})
        return live

    monkeypatch.setattr(job_types, "live_workers", stream_opens_during_the_read)
    await catalog.refresh()

    assert catalog.view.defaults == {"email": TypeDefaults(retries=5)}
    assert "email" in catalog.view.known
    monkeypatch.setattr(job_types, "live_workers", read_live)
    await catalog.refresh()  # the next refresh reads it from Redis
    assert catalog.view.defaults == {"email": TypeDefaults(retries=5)}
