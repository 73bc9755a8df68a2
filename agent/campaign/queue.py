"""Scale-out on a PostgreSQL store through procrastinate (a PostgreSQL-backed task queue): `campaign run NAME
--queue` puts one job per pending item in the queue (at most one queued job per item: procrastinate's queueing
lock), and `suture worker` processes, on any machine with the campaign's repos checked out at the same paths,
run them. Each job claims its item in the store (agent.store.campaigns: under the write lock, once) before any
work, so an item is worked on at most once at a time whatever the queue does; a worker killed mid-job leaves a
stalled job (procrastinate's heartbeats tell a dead worker: none for 30 s) that every running worker looks for
when it starts and then every STALLED_CHECK_SECONDS, and queues again; its item's claim is given back by the next
job that starts once the dead worker's process is gone (same machine), or taken over when its lease ran out.

procrastinate keeps its tables in the store's database (`procrastinate_*`, created on first use).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from agent.errors import SutureError

QUEUE = "suture-campaign"
TASK = "suture.campaign_item"
BUSY_RETRY_SECONDS = 2
STALLED_CHECK_SECONDS = 15.0  # how often a running worker re-queues the jobs of workers that stopped heartbeating


class Busy(Exception):
    """The campaign's claims held now may use up --max-proposals: the job runs again later."""


_worker: dict[str, Any] = {}  # this worker process's store, sessions and lease


def _conninfo(store_url: str) -> str:
    import sqlalchemy as sa

    url = sa.engine.make_url(store_url)
    if url.get_backend_name() != "postgresql":
        raise SutureError("suture worker and campaign run --queue need a PostgreSQL store (--store postgresql://…)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(store_url: str) -> Any:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=_conninfo(store_url)))
    retry = procrastinate.RetryStrategy(max_attempts=10_000, wait=BUSY_RETRY_SECONDS, retry_exceptions={Busy})
    app.task(name=TASK, queue=QUEUE, retry=retry)(_run_job)
    return app


def ensure_schema(store: Any, app: Any) -> None:
    """Create procrastinate's tables in the store's database once (under the store's write lock)."""
    import sqlalchemy as sa

    from agent.store.base import writing

    with writing(store.engine) as conn:
        if "procrastinate_jobs" in sa.inspect(conn).get_table_names():
            return
        # no parameters: its '%' stay as written. (type: ignore: psycopg's connection, open here, whose cursor is a
        # context manager; SQLAlchemy types it as an optional DB-API connection)
        with conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(app.schema_manager.get_schema())


def enqueue(store: Any, name: str) -> int:
    """Queue a job for every pending item of campaign `name`; returns how many were queued (an item with a job
    already waiting is skipped)."""
    from procrastinate.exceptions import AlreadyEnqueued

    app = make_app(store.url)
    ensure_schema(store, app)
    queued = 0
    with app.open():
        task = app.tasks[TASK]
        for item in store.campaign_items(name):
            if item["state"] not in ("pending", "claimed"):
                continue
            try:
                task.configure(queueing_lock=f"{name}:{item['id']}").defer(campaign=name, item_id=item["id"])
                queued += 1
            except AlreadyEnqueued:
                continue
    return queued


def _run_job(campaign: str, item_id: int) -> str:
    """One queued item: claim it in the store, fix its finding, record what came of it."""
    from agent.campaign.runner import BUSY, HOST, dead_local_claimants, work_item

    store, sessions, lease = (_worker[k] for k in ("store", "sessions", "lease"))
    me = f"{HOST}:{os.getpid()}:job{item_id}"  # one claimant per job: a job's error releases only its claim
    record = store.get_campaign(campaign)
    # a worker of this machine killed mid-job holds its claim until the lease runs out; its process is gone, so
    # its claims are given back now (its stalled job, queued again by requeue_stalled, is often this one)
    store.release_items(campaign, dead_local_claimants(store.claimants(campaign)))
    got = store.claim_item(campaign, me, lease, item_id=item_id)
    if got == BUSY:
        raise Busy(campaign)
    if isinstance(got, str):
        return got  # closed, limit reached, or the item is done / held by a live worker
    spent = sum(i["cost_usd"] for i in store.campaign_items(campaign)) if record["budget_usd"] is not None else 0.0
    done = threading.Event()

    def renew() -> None:  # the lease is kept while the job works
        while not done.wait(lease.total_seconds() / 3):
            with contextlib.suppress(SutureError, sa.exc.SQLAlchemyError):
                store.renew_claims(campaign, [me])

    threading.Thread(target=renew, name=f"suture-lease-{item_id}", daemon=True).start()
    try:
        state, proposal_id, outcome, cost = work_item(sessions.setdefault(campaign, _sessions(record)), got,
                                                      record, spent)
    except Exception:
        store.release_items(campaign, [me])  # procrastinate records the error; the item may be queued again
        raise
    finally:
        done.set()
    store.finish_item(got["id"], me, state, proposal_id=proposal_id, outcome=outcome, cost_usd=cost)
    return outcome


def _sessions(record: dict[str, Any]) -> Any:
    from agent.campaign.runner import Sessions

    return Sessions(record["repos"], _worker["store"].url, {**_worker["overrides"], "workers": 1})


async def requeue_stalled(app: Any) -> int:
    """Queue again the campaign jobs of workers that stopped sending heartbeats; returns how many. A job another
    worker re-queued a moment earlier is skipped."""
    from procrastinate.exceptions import ProcrastinateException

    requeued = 0
    for job in await app.job_manager.get_stalled_jobs(queue=QUEUE):
        try:
            await app.job_manager.retry_job(job)
            requeued += 1
        except ProcrastinateException:  # no longer "doing": taken care of already
            continue
    return requeued


async def _keep_requeueing(app: Any) -> None:
    """`requeue_stalled` every STALLED_CHECK_SECONDS while the worker runs (a database hiccup is retried)."""
    from procrastinate.exceptions import ProcrastinateException

    while True:
        await asyncio.sleep(STALLED_CHECK_SECONDS)
        with contextlib.suppress(ProcrastinateException):
            await requeue_stalled(app)


def run_worker(store: Any, concurrency: int = 1, burst: bool = False, lease: timedelta = timedelta(minutes=10),
               overrides: dict[str, Any] | None = None) -> None:
    """Run a procrastinate worker on the campaign queue until stopped (SIGINT/SIGTERM), or with `burst` until
    the queue is empty. Jobs of workers that stopped sending heartbeats are queued again first, and then every
    STALLED_CHECK_SECONDS while this worker runs."""
    from agent.campaign.runner import clean_worktrees, dead_local_claimants

    app = make_app(store.url)
    ensure_schema(store, app)
    _worker.update(store=store, sessions={}, lease=lease, overrides=overrides or {})
    for record in store.list_campaigns():
        if record["state"] == "open":
            store.release_items(record["name"], dead_local_claimants(store.claimants(record["name"])))
            for path in record["repos"].values():
                clean_worktrees(Path(path))

    async def main() -> None:
        async with app.open_async():
            await requeue_stalled(app)
            recovery = asyncio.create_task(_keep_requeueing(app))
            try:
                await app.run_worker_async(queues=[QUEUE], concurrency=concurrency, wait=not burst,
                                           install_signal_handlers=True)
            finally:
                recovery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recovery

    try:
        asyncio.run(main())
    finally:
        for sessions in _worker["sessions"].values():
            sessions.close()
