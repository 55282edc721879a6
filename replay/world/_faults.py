"""Faults: what can go wrong in the world, as plain data (a WorldSpec's schedule).

Scenarios, the log importer, the soak and both links of the world (the simulator and the
chaos gateway) speak this vocabulary. Every time is in seconds of model time from the start
of the run; every duration is in seconds. Facts come from protocol.md and incidents.md.

Two kinds: a fault that acts once, at ``at`` (``ServerClose``, ``ServerReconnect``,
``InvalidateSessions``, ``ExpireSessions``, ``HalfOpen``, ``Ban``), and a timed fault that is
in force over a window (``DnsOutage``, ``RefuseConnects``, ``StallConnects``,
``RejectResumes``, ``RejectTokens``, ``RateLimitIdentify``, ``DisallowIntents``, ``NoHello``,
``NoReady``, ``WrongCertificate``): it knows its window, ``active_at(t)`` and ``end_s``. The server model applies either kind once
(``GatewayServer.apply``); the links only schedule them.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any, Iterable, Union


class _Window:
    """A timed fault: in force from ``at`` for ``duration_s`` seconds (None: for good)."""

    __slots__ = ()
    at: float
    duration_s: float | None

    @property
    def end_s(self) -> float | None:
        """When the window closes (model seconds), or None if it never does."""
        return None if self.duration_s is None else self.at + self.duration_s

    def active_at(self, t: float) -> bool:
        """True while the fault is in force at model time ``t``: ``at <= t < end_s``."""
        return t >= self.at and (self.duration_s is None or t < self.at + self.duration_s)


@dataclass(frozen=True, slots=True)
class ServerClose:
    """At ``at``, the server closes the live connection with ``code`` (None: no code, like a drop).

    ``drop_style`` says how a close with no code looks to the client (``"fin"``, ``"empty"``
    or ``"reset"``, see ``_spec.DropStyle``); None: the world's ``drop_style``. A close with
    4004, 4006, 4007 or 4900-4913 also ends the connection's session on the server (the
    close-code table says "drop the session, identify"), so it can no longer be resumed.
    """

    at: float
    code: int | None
    reason: str = ""
    drop_style: str | None = None


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
class DnsOutage(_Window):
    """From ``at`` for ``duration_s`` (None: for the rest of the run), name resolution fails.

    Token and gateway-URL requests and socket opens fail with a DNS error.
    """

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class RefuseConnects(_Window):
    """From ``at`` for ``duration_s`` (None: for good), WebSocket connects are refused; REST still works."""

    at: float
    duration_s: float | None
    error: str = "Cannot connect to host api.sgroup.qq.com:443 [Network is unreachable]"


@dataclass(frozen=True, slots=True)
class StallConnects(_Window):
    """From ``at`` for ``duration_s``, WebSocket connects hang: no upgrade, no error."""

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class RejectResumes(_Window):
    """From ``at`` for ``duration_s``, a Resume is answered by closing the socket at once, and
    the session it named is gone for good (hermes PR #22384 reads the answer as "the session_id
    has expired server-side").

    ``code`` None means no close code (incident 7: "the server accepts the socket and
    closes it at once"). Identify still works.
    """

    at: float
    duration_s: float | None
    code: int | None = None


@dataclass(frozen=True, slots=True)
class ExpireSessions:
    """At ``at``, every session's resume window ends and every live connection is dropped: a
    Resume then gets the world's expired-session answer (``expired_resume_close``, 4902
    "reset by resume" by default), as after an outage longer than the resume window."""

    at: float


@dataclass(frozen=True, slots=True)
class RejectTokens(_Window):
    """From ``at`` for ``duration_s`` (None: for good), the bot's secret is not accepted: every
    live token is revoked at the start (Identify and Resume get 4004, REST calls HTTP 401) and
    the token endpoint answers HTTP 401 ``{"code": 100016, "message": "invalid appid or
    secret"}``, as after the secret was reset on the QQ Open Platform."""

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class RateLimitIdentify(_Window):
    """From ``at`` for ``duration_s``, the identify budget is spent: ``session_start_limit``
    reports ``remaining`` 0 with ``reset_after`` at the window's end, and every Identify is
    refused (op 9, then close 4903 "create session error"). Resumes still work."""

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class DisallowIntents(_Window):
    """From ``at`` for ``duration_s`` (None: for good), the bot loses permission for ``intents``
    (a bitmask; default every intent): an Identify asking for any of them gets op 9, then close
    4903 "create session error", every time (openclaw-qqbot#18, satori#363)."""

    at: float
    duration_s: float | None
    intents: int = (1 << 31) - 1


@dataclass(frozen=True, slots=True)
class NoHello(_Window):
    """From ``at`` for ``duration_s``, a new WebSocket connection is accepted but never gets
    Hello (nor anything else); the server drops it after its heartbeat timeout."""

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class NoReady(_Window):
    """From ``at`` for ``duration_s``, Identify and Resume get no answer at all: no READY, no
    RESUMED, no op 9. Heartbeats are still ACKed."""

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class WrongCertificate(_Window):
    """From ``at`` for ``duration_s``, TLS handshakes present a certificate no client trusts (a
    self-signed one for the right host name): a verifying client fails every connect and REST
    call with a certificate error; plain ``ws://``/``http://`` is unaffected."""

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class Ban:
    """At ``at``, the bot is banned: the live connection closes with ``code`` (4914/4915), and so does every later one after its Identify/Resume."""

    at: float
    code: int = 4915
    reason: str = "bot banned"

    def active_at(self, t: float) -> bool:
        """True once the ban has started: it lasts for good."""
        return t >= self.at


Fault = Union[
    ServerClose, ServerReconnect, InvalidateSessions, HalfOpen, DnsOutage, RefuseConnects,
    StallConnects, RejectResumes, Ban, ExpireSessions, RejectTokens, RateLimitIdentify,
    DisallowIntents, NoHello, NoReady, WrongCertificate,
]


TimedFault = Union[DnsOutage, RefuseConnects, StallConnects, RejectResumes, RejectTokens, RateLimitIdentify,
                   DisallowIntents, NoHello, NoReady, WrongCertificate]
TIMED_FAULTS = (DnsOutage, RefuseConnects, StallConnects, RejectResumes, RejectTokens, RateLimitIdentify,
                DisallowIntents, NoHello, NoReady, WrongCertificate)


def schedule_end_s(faults: Iterable[Fault]) -> float:
    """When ``faults`` stop acting (model seconds): the latest start of a fault or end of a
    window; a window with no end counts from its start. 0.0 for no faults."""
    ends = [f.at if not isinstance(f, TIMED_FAULTS) or f.end_s is None else f.end_s for f in faults]
    return max(ends, default=0.0)


FAULT_TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    ServerClose, ServerReconnect, InvalidateSessions, HalfOpen, DnsOutage, RefuseConnects,
    StallConnects, RejectResumes, Ban, ExpireSessions, RejectTokens, RateLimitIdentify, DisallowIntents,
    NoHello, NoReady, WrongCertificate)}
"""Every fault class by name: the ``"fault"`` key of a fault's JSON form."""

_FAULT_DEFAULTS: dict[str, Any] = {"at": 0.0, "code": None, "duration_s": None}


def fault_from_json(obj: Any) -> Fault:
    """``{"fault": "ServerClose", "code": 4009, ...}`` → a Fault. ``at`` defaults to 0, and so
    do ``code`` and ``duration_s`` to None where the fault has no default for them.

    Keys that are not fields of the fault are ignored. Raises ValueError for an unknown
    ``fault`` name.
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
