"""qqgate's journal: every step of a live connection recorded with eventsourcing, and read back.

One stream per connection session (a new UUID): the first event carries the header
(client config, versions, PRNG seed), then one event per step holding its secret-free
record (``core.journal.step_line``). SQLite is the default store, PostgreSQL the store for
fleets (design.md, "The journal")::

    rec = open_recorder("journal.db", config.journal_header(), config.secrets)
    rec.record(inp, commands)          # from the driver greenlet: never blocks
    rec.close()                        # commits what is left

    header, records = read_session("journal.db")             # the latest session
    with open("last.jsonl", "wb") as fh:
        export_jsonl("journal.db", None, fh)                 # replay-ready JSON lines

Modules: ``_store`` (targets and the eventsourcing recorders), ``_recorder`` (the batching
writer), ``_read`` (listing, reading, export), ``cli`` (``qqgate export``). The journal format
itself (records, redaction, reading, verifying) is ``qqgate.core.journal``; this store's
errors belong to its exception family (``JournalStoreError`` is a ``JournalError``).
"""

from ._read import SessionInfo, export_jsonl, journal_bytes, list_sessions, looks_like_store, read_session
from ._recorder import MAX_PENDING, JournalRecorder, open_recorder
from ._store import JournalStoreError, JournalWriteError

__all__ = [
    "open_recorder", "JournalRecorder", "MAX_PENDING",
    "SessionInfo", "list_sessions", "read_session", "export_jsonl", "journal_bytes", "looks_like_store",
    "JournalStoreError", "JournalWriteError",
]
