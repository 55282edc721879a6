"""The journal's one exception family.

``JournalError`` is every failure to read, decode, replay or store a journal; the message
says which line, record or store, and why (never a secret). Its subclasses say where it
arose: ``CodecError`` (a record that is no known input or command, here) and, in the
store beside this package, ``io_shell.journal.JournalStoreError`` and its
``JournalWriteError``. Catch ``JournalError`` to handle them all.
"""

from __future__ import annotations


class JournalError(Exception):
    """A journal cannot be read, replayed or stored; the message names the line or store and why."""


class CodecError(JournalError, ValueError):
    """A journal record does not describe a known input or command (also a ValueError)."""
