"""Structured logs: one JSON object per record, for log shippers (Loki, Elasticsearch, Cloud Logging).

::

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])     # or: qqgate run --log-format json

Every record becomes ``{"time", "level", "logger", "message", "thread"}`` plus, when the record
has them (``extra=``):

- ``event``: ``record.qqgate_event``, the name of the core's ``Log`` command (``hello``,
  ``identify_sent``, ``resume_sent``, ``socket_closed``, ``zombie_connection``,
  ``retry_scheduled``, ``token_issued``, ``attempt_failed``, ``frame_rejected``, ...; the full
  list is the core's ``Log(level, event, fields)`` calls);
- ``fields``: ``record.qqgate_fields``, that command's fields (a JSON object: ``conn``,
  ``code``, ``reason``, ``in_s``, ``failures``, ``session_id``, ...), already scrubbed of the
  secret and of every token by the client's redactor;
- ``app_id``: ``record.qqgate_app_id``, the bot that logged it (many bots share one process);
- ``exc``: the formatted exception, when the record carries one.

``time`` is UTC, ISO 8601 with milliseconds. Values JSON cannot hold are written as ``str()``.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import orjson

_UTC = datetime.timezone.utc


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, _UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "thread": record.threadName,
        }
        for attr, key in (("qqgate_event", "event"), ("qqgate_fields", "fields"), ("qqgate_app_id", "app_id")):
            value = getattr(record, attr, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        return orjson.dumps(out, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def json_handler(stream: Any = None) -> logging.Handler:
    """A ``StreamHandler`` (stderr unless ``stream``) with a ``JsonFormatter``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    return handler


__all__ = ["JsonFormatter", "json_handler"]
