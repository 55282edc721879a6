"""qqgate.core.journal: the journal format, pure like the core it records (design.md, "The journal").

A journal is JSON lines: a header (``_header``: format, the recorded reducer, seed, versions)
then one record per step (``_records``: the input and the commands it produced, encoded by
``_codec``, secrets replaced by ``_redact``). ``_reader`` parses lines back, ``_verify``
replays them through a reducer and reports the first divergence. No module here opens a file,
reads a clock or imports anything of qqgate but the core (the WebSocket core and its sibling,
the webhook reducer ``core.webhook``, whose steps are journaled the same way): the simulator, the live shell's
store (``io_shell.journal``) and ``qqgate replay`` all build on it::

    lines = journal_lines(journal_header(describe_core(config), seed=1), steps)
    journal = read_journal(b"".join(lines))           # or read_journal(open(path, "rb"))
    result = verify(journal, reducer)                  # result.divergence is None: identical

Errors: ``JournalError`` and its subclasses (``CodecError`` here, the store's own beside it).
"""

from ._codec import JournalCommand, JournalInput, decode_command, decode_input, encode_command, encode_input
from ._errors import CodecError, JournalError
from ._header import FORMAT, FORMAT_VERSION, describe_core, describe_webhook, header_record, journal_header
from ._reader import Journal, StreamedJournal, read_journal, stream_journal
from ._records import Step, header_line, journal_lines, step_line, step_record
from ._redact import Redactor
from ._verify import Divergence, Reducer, VerifyResult, verify

__all__ = [
    "JournalCommand", "JournalInput", "decode_command", "decode_input", "encode_command", "encode_input",
    "CodecError", "JournalError",
    "FORMAT", "FORMAT_VERSION", "describe_core", "describe_webhook", "header_record", "journal_header",
    "Journal", "StreamedJournal", "read_journal", "stream_journal",
    "Step", "header_line", "journal_lines", "step_line", "step_record",
    "Redactor",
    "Divergence", "Reducer", "VerifyResult", "verify",
]
