"""Alembic's environment for the store: runs the revisions on the connection agent.store.migrate hands over
(in its transaction, under the store's write lock). With `alembic -c agent/store/migrations/alembic.ini …` (for
writing revisions) it connects to the URL in SUTURE_STORE (default: .suture/suture.db)."""

from alembic import context

from agent.store.schema import _meta


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=_meta, compare_type=False)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:  # a developer's command line
    from pathlib import Path

    import sqlalchemy as sa

    from agent.store.url import store_url

    engine = sa.create_engine(store_url(None, Path(".suture/suture.db")))
    with engine.begin() as connection:
        _run(connection)
