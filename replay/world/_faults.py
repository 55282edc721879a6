"""Faults: what can go wrong in the world, as plain data (a WorldSpec's schedule).

Scenarios, the log importer, the soak and both links of the world (the simulator and the
chaos gateway) speak this vocabulary. Every time is in seconds of model time from the start
of the run; every duration is in seconds. Facts come from protocol.md and incidents.md.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any, Union


@dataclass(frozen=True, slots=True)
class ServerClose:
    """At ``at``, the server closes the live connection with ``code`` (None: no close frame, like a drop)."""

    at: float
    code: int | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ServerReconnect:
    """At ``at``, the server sends op 7 and closes with 4009 "Session timed out" shortly after."""

    at: float


@dataclass(frozen=True, slots=True)
class InvalidateSessions:
    """At ``at``, the server forgets every session (a restart): resumes get op 9 then a 4006 close."""

    at: float


@dataclass(frozen=True, slots=True)
class HalfOpen:
    """From ``at``, the live connection's flow is black-holed in both directions, with no close.

    The server side times out after its heartbeat timeout and forgets the flow; the
    client sees nothing. New connections are unaffected (a NAT dropped the old flow).
    """

    at: float


@dataclass(frozen=True, slots=True)
class DnsOutage:
    """From ``at`` for ``duration_s`` (None: for the rest of the run), name resolution fails.

    Token and gateway-URL requests and socket opens fail with a DNS error.
    """

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class RefuseConnects:
    """From ``at`` for ``duration_s`` (None: for good), WebSocket connects are refused; REST still works."""

    at: float
    duration_s: float | None
    error: str = "Cannot connect to host api.sgroup.qq.com:443 [Network is unreachable]"


@dataclass(frozen=True, slots=True)
class StallConnects:
    """From ``at`` for ``duration_s``, WebSocket connects hang: no upgrade, no error."""

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class RejectResumes:
    """From ``at`` for ``duration_s``, a Resume is answered by closing the socket at once.

    ``code`` None means no close frame (incident 7: "the server accepts the socket and
    closes it at once"). Identify still works.
    """

    at: float
    duration_s: float | None
    code: int | None = None


@dataclass(frozen=True, slots=True)
class Ban:
    """At ``at``, the bot is banned: the live connection closes with ``code`` (4914/4915), and so does every later one after its Identify/Resume."""

    at: float
    code: int = 4915
    reason: str = "bot banned"


Fault = Union[
    ServerClose, ServerReconnect, InvalidateSessions, HalfOpen, DnsOutage, RefuseConnects,
    StallConnects, RejectResumes, Ban,
]


FAULT_TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    ServerClose, ServerReconnect, InvalidateSessions, HalfOpen, DnsOutage, RefuseConnects,
    StallConnects, RejectResumes, Ban)}
"""Every fault class by name: the ``"fault"`` key of a fault's JSON form."""

_FAULT_DEFAULTS: dict[str, Any] = {"at": 0.0, "code": None, "duration_s": None}


def fault_from_json(obj: Any) -> Fault:
    """``{"fault": "ServerClose", "code": 4009, ...}`` → a Fault. ``at`` defaults to 0, and so
    do ``code`` and ``duration_s`` to None where the fault has no default for them.

    Raises ValueError for an unknown ``fault`` name, TypeError for unknown or missing fields.
    """
    if not isinstance(obj, dict) or obj.get("fault") not in FAULT_TYPES:
        raise ValueError(f"'fault' must be one of {sorted(FAULT_TYPES)}")
    cls = FAULT_TYPES[obj["fault"]]
    kwargs = {f.name: obj[f.name] for f in fields(cls) if f.name in obj}
    for f in fields(cls):
        if f.name not in kwargs and f.default is MISSING and f.name in _FAULT_DEFAULTS:
            kwargs[f.name] = _FAULT_DEFAULTS[f.name]
    fault: Fault = cls(**kwargs)
    return fault
