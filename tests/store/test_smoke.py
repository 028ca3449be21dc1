from gopher_server.store.records import NewJob
from gopher_server.store.store import Store


async def test_submit_dispatch_ack(store: Store) -> None:
    r = await store.submit([NewJob(id="j1", type="email", priority="high", payload="{}", retries=3)])
    assert r[0].state == "enqueued"
    d = await store.dispatch("w1", "s1", 4, ["email"])
    assert [l.job_id for l in d.leases] == ["j1"]
    codes = await store.ack([("j1", d.leases[0].token, '{"ok":1}')])
    assert codes == ["ok"]
    rec = await store.get_job("j1")
    assert rec is not None and rec.state == "succeeded"
    print(rec)
