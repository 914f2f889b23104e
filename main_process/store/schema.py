"""The store's schema as numbered migrations, applied on open.

``PRAGMA user_version`` holds the number of migrations applied. A migration is
appended, never edited: databases in users' data dirs were made by old ones.
"""

from __future__ import annotations

import sqlite3

from app.errors import StoreError

MIGRATIONS: list[str] = [
    # 1: the first schema. Events are stored in chunks: one row per execution per
    # writer batch, ``chunk`` a JSON array of [seq, ts, kind, node_id, status,
    # attempt, data] with seq first_seq..last_seq, contiguous. Node outcomes are
    # chunked the same way: ``node_runs.chunk`` is a JSON array of NODE_FIELDS
    # records, keyed by the seq of the first one's terminal event; a later record
    # for a node (a resumed run) replaces an earlier one. A row per event or per
    # node cost ~5-12 us of SQLite time each here; a chunk costs that per batch.
    """
    CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        blueprint_id TEXT NOT NULL,
        blueprint_name TEXT,
        blueprint_hash TEXT NOT NULL,
        blueprint_json BLOB NOT NULL,
        ui_json BLOB,
        source TEXT,
        inputs_json BLOB NOT NULL,
        config_json BLOB NOT NULL,
        status TEXT NOT NULL,
        error_json BLOB,
        outputs_json BLOB,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        owner_id TEXT,
        owner_pid INTEGER,
        owner_host TEXT,
        lease_until REAL
    );
    CREATE INDEX executions_created ON executions(created_at DESC);
    CREATE INDEX executions_status ON executions(status);
    CREATE INDEX executions_blueprint ON executions(blueprint_id, created_at DESC);
    CREATE TABLE node_runs (
        execution_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        chunk BLOB NOT NULL,
        PRIMARY KEY (execution_id, first_seq)
    ) WITHOUT ROWID;
    CREATE TABLE events (
        execution_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        chunk BLOB NOT NULL,
        PRIMARY KEY (execution_id, first_seq)
    ) WITHOUT ROWID;
    CREATE TABLE variables (
        execution_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value_json BLOB NOT NULL,
        PRIMARY KEY (execution_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE checkpoints (
        execution_id TEXT NOT NULL,
        checkpoint_id TEXT NOT NULL,
        name TEXT,
        created_at REAL NOT NULL,
        data_json BLOB NOT NULL,
        PRIMARY KEY (execution_id, checkpoint_id)
    ) WITHOUT ROWID;
    """,
    # 2: control requests. A process that does not own an execution (a CLI run, the
    # GUI's worker, ``conductor serve``) records here what it asks of it; the owner
    # takes the requests for its executions and acts on them.
    """
    CREATE TABLE control_requests (
        id INTEGER PRIMARY KEY,
        execution_id TEXT NOT NULL,
        action TEXT NOT NULL,
        requested_at REAL NOT NULL,
        requested_by TEXT
    );
    CREATE INDEX control_requests_execution ON control_requests(execution_id);
    """,
    # 3: the owner's lock file. An engine holds a ``flock`` on ``locks/<name>`` while
    # it lives (main_process.store.owner_lock); whether an execution's owner is alive
    # is whether that lock is held, not whether ``lease_until`` (kept for older rows)
    # has passed. NULL: a row written without a lock file (its pid decides).
    """
    ALTER TABLE executions ADD COLUMN owner_lock TEXT;
    """,
    # 4 (triggers): each trigger's runtime state (enabled/disabled/suspended, the
    # catch-up anchor, its last and next fire), every fire and what it became, and
    # the held fires of suspended triggers. See main_process.store.triggers.
    """
    CREATE TABLE trigger_state (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        since REAL NOT NULL,
        last_scheduled_at REAL,
        last_fire_at REAL,
        last_execution_id TEXT,
        last_outcome TEXT,
        next_fire_at REAL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE trigger_fires (
        id INTEGER PRIMARY KEY,
        trigger_id TEXT NOT NULL,
        scheduled_at REAL,
        fired_at REAL NOT NULL,
        execution_id TEXT,
        outcome TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX trigger_fires_trigger ON trigger_fires(trigger_id, id);
    CREATE TABLE held_fires (
        id INTEGER PRIMARY KEY,
        trigger_id TEXT NOT NULL,
        scheduled_at REAL,
        held_at REAL NOT NULL,
        context_json BLOB NOT NULL,
        inputs_json BLOB NOT NULL
    );
    CREATE INDEX held_fires_trigger ON held_fires(trigger_id);
    """,
    # 5 (sub-blueprints and loops): a child execution started by a
    # ``blueprint.call`` node names its parent execution and node; a ``loop`` node's
    # iterations are rows of their own (a full execution per item costs too much for
    # 10,000 items), written in batches, one per (execution, node, index).
    """
    ALTER TABLE executions ADD COLUMN parent_execution_id TEXT;
    ALTER TABLE executions ADD COLUMN parent_node_id TEXT;
    CREATE INDEX executions_parent ON executions(parent_execution_id, parent_node_id);
    CREATE TABLE loop_iterations (
        execution_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        status TEXT NOT NULL,
        output_json BLOB,
        error_json BLOB,
        finished_at REAL NOT NULL,
        PRIMARY KEY (execution_id, node_id, idx)
    ) WITHOUT ROWID;
    """,
    # 6 (per-blueprint concurrency and webhooks): the slots of blueprints with a
    # ``concurrency`` limit (held or waited for, by whom), shared by every process on
    # the data dir (main_process.store.slots); and webhook requests that started no
    # execution (skipped at the limit, refused, invalid), kept for the user to see.
    """
    CREATE TABLE blueprint_slots (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id TEXT NOT NULL UNIQUE,
        blueprint_id TEXT NOT NULL,
        state TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        owner_lock TEXT,
        since REAL NOT NULL
    );
    CREATE INDEX blueprint_slots_blueprint ON blueprint_slots(blueprint_id, seq);
    CREATE TABLE webhook_fires (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        trigger_id TEXT NOT NULL,
        received_at REAL NOT NULL,
        outcome TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        message TEXT
    );
    CREATE INDEX webhook_fires_trigger ON webhook_fires(trigger_id, id);
    """,
    # 7 (error handlers): the failed execution names the handler execution
    # it owes (decided in the same write as the failure, so it is started exactly
    # once), and a handler execution names the execution it handles.
    """
    ALTER TABLE executions ADD COLUMN error_handler_execution TEXT;
    ALTER TABLE executions ADD COLUMN handler_for TEXT;
    CREATE INDEX executions_error_handler ON executions(error_handler_execution)
        WHERE error_handler_execution IS NOT NULL;
    """,
    # 8 (streaming items): every chunk of a ``record: full`` stream, paged by item
    # index in the data tab (main_process.streams.pages).
    """
    CREATE TABLE stream_chunks (
        execution_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        first_item INTEGER NOT NULL,
        items INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (execution_id, node_id, seq)
    );
    """,
    # 9 (engine speed: pages per commit): a node's completion is committed on its own
    # (before its consumer starts), so each commit's pages count. Keyed by the random
    # execution id, every commit inserted into the middle of the events and node_runs
    # B-trees, two leaves, and split one every few commits (~6 WAL pages a commit,
    # measured). Now both kinds of chunk share one rowid table, ``chunks``, keyed by
    # ``runs.number`` (given to an execution id on its first write, in order) * 2**33
    # + first_seq * 2 + kind (0 events, 1 node outcomes): a running execution appends
    # at the right edge, its event and node chunks of one commit side by side on one
    # page (an execution's seqs stay under 2**32). The old names stay as views
    # (execution_id, first_seq, ...) for readers.
    """
    CREATE TABLE runs (
        number INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE
    );
    INSERT INTO runs (id) SELECT id FROM executions ORDER BY created_at, rowid;
    INSERT OR IGNORE INTO runs (id) SELECT execution_id FROM events ORDER BY execution_id;
    INSERT OR IGNORE INTO runs (id) SELECT execution_id FROM node_runs ORDER BY execution_id;
    CREATE TABLE chunks (
        key INTEGER PRIMARY KEY,
        last_seq INTEGER,
        chunk BLOB NOT NULL
    );
    INSERT INTO chunks (key, last_seq, chunk)
        SELECT r.number * 8589934592 + e.first_seq * 2, e.last_seq, e.chunk
        FROM events e JOIN runs r ON r.id = e.execution_id;
    INSERT INTO chunks (key, last_seq, chunk)
        SELECT r.number * 8589934592 + n.first_seq * 2 + 1, NULL, n.chunk
        FROM node_runs n JOIN runs r ON r.id = n.execution_id;
    DROP TABLE events;
    DROP TABLE node_runs;
    CREATE VIEW events AS
        SELECT r.id AS execution_id, (c.key - r.number * 8589934592) / 2 AS first_seq,
            c.last_seq, c.chunk
        FROM runs r JOIN chunks c
            ON c.key BETWEEN r.number * 8589934592 AND r.number * 8589934592 + 8589934591
        WHERE c.key % 2 = 0;
    CREATE VIEW node_runs AS
        SELECT r.id AS execution_id, (c.key - r.number * 8589934592) / 2 AS first_seq, c.chunk
        FROM runs r JOIN chunks c
            ON c.key BETWEEN r.number * 8589934592 AND r.number * 8589934592 + 8589934591
        WHERE c.key % 2 = 1;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this database lacks; returns the resulting version.

    A database newer than this code is refused rather than written to.
    """
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store's schema is version {version}, newer than this Conductor "
            f"understands ({SCHEMA_VERSION}); upgrade Conductor",
        )
    for number in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            (current,) = conn.execute("PRAGMA user_version").fetchone()
            if current > number:  # another process migrated meanwhile
                conn.execute("ROLLBACK")
                continue
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
