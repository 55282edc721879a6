"""Readers as data: per client, a table of (message pattern → lifecycle event).

A :class:`Rule` matches the message of a line (the text after its prefix) from its start. Its
``head`` is the literal the message must begin with (it indexes the rule, so a line is only
tried against the few rules that can match it); its ``pattern`` reads the fields. Group names
are :class:`LogEvent` field names, plus ``delay_ms`` / ``lived_ms`` (milliseconds, stored in
seconds) and ``delay`` (a duration with its unit, ``5s``, ``1m``). ``fixed`` sets fields the
wording implies (``Bot is banned`` → code 4915). ``then`` makes one line two events (Koishi's
``disallowed intents, will retry in 5s...`` is a close and a scheduled reconnect).

:func:`classify` tries the clients in this order: the one the line's format names, the one
that has understood the most lines so far (so a wording two clients share, such as
``WebSocket connected``, goes to the client the file is from), then every other in table
order. The tables themselves are in ``_clients_py`` (Python clients) and ``_clients_js``
(Node, Rust and Zig clients).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ._events import EventKind, FailKind

_NUM = r"\d{1,9}(?:\.\d{1,9})?"
"""A bounded decimal number: every number read stays finite."""
NUM = _NUM


@dataclass(frozen=True, slots=True)
class Rule:
    """``head``: the literal a message starts with; ``pattern``: the full regex (anchored at the
    start, fields as named groups); ``kind``: the event; ``fixed``: fields implied by the
    wording; ``then``: a second event of the same line; ``paraphrase``: a reporter's wording,
    not the client's."""

    client: str
    kind: EventKind
    head: str
    pattern: re.Pattern[str]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    then: EventKind | None = None
    paraphrase: bool = False


def rule(client: str, kind: EventKind, pattern: str, *, head: str | None = None,
         then: EventKind | None = None, paraphrase: bool = False, **fixed: Any) -> Rule:
    """A Rule; ``head`` defaults to the literal start of ``pattern`` (up to its first regex
    metacharacter)."""
    if head is None:
        m = re.match(r"[^\\.^$*+?{}\[\]|()]*", pattern)
        head = m.group(0) if m else ""
    return Rule(client, kind, head, re.compile(pattern), fixed, then, paraphrase)


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched a message, and the fields it read (already converted)."""

    rule: Rule
    fields: dict[str, Any]


_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_DURATION_RE = re.compile(r"(?P<n>" + _NUM + r")\s*(?P<unit>ms|sec|min|s|m|h)")

CLOSE_REASON_CODES = {
    "session timed out": 4009, "disallowed intents": 4014, "invalid intent": 4013,
    "intent not authorized": 4014, "create session error": 4903, "reset by resume": 4902,
    "bot banned": 4915, "banned": 4915, "offline/sandbox-only": 4914, "invalid seq": 4007,
    "session no longer valid": 4006, "invalid session": 4006,
}
"""Close reasons seen in real logs (protocol.md "Observed close reasons", satori#363) and the
code each stands for, when a client logs the reason without the code."""

_DNS_RE = re.compile(r"DNS|name resolution|Errno -[235]\]|getaddrinfo|Name or service not known|"
                     r"nodename nor servname|EAI_AGAIN|ENOTFOUND", re.IGNORECASE)
_GATEWAY_URL_RE = re.compile(r"gateway URL|/gateway\b|gateway info|createSession", re.IGNORECASE)
_UNREACHABLE_RE = re.compile(r"Network is unreachable|Cannot connect to host|ECONNREFUSED|ECONNRESET|"
                             r"Connection refused|socket disconnected before secure TLS|fetch failed|"
                             r"ETIMEDOUT|timed out", re.IGNORECASE)
_REJECTED_RE = re.compile(r"closed before READY:?\s*(?P<code>\d{4})", re.IGNORECASE)


def fail_kind_of(reason: str) -> FailKind:
    """Sort a failure reason: DNS first (a gateway-URL fetch can fail on DNS too)."""
    if _REJECTED_RE.search(reason):
        return FailKind.REJECTED
    if _DNS_RE.search(reason):
        return FailKind.DNS
    if _GATEWAY_URL_RE.search(reason):
        return FailKind.GATEWAY_URL
    if _UNREACHABLE_RE.search(reason):
        return FailKind.NETWORK_UNREACHABLE
    return FailKind.OTHER


def _int(text: str | None) -> int | None:
    t = (text or "").strip()
    return int(t) if t.isascii() and t.isdigit() and len(t) < 10 else None


def _fields(m: re.Match[str], fixed: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict(fixed)
    for name, value in m.groupdict().items():
        if value is None:
            continue
        if name in ("code", "attempt", "max_attempts", "seq", "interval_ms", "count"):
            number = _int(value)
            if number is not None:
                out[name] = number
        elif name in ("delay_s", "lived_s"):
            out[name] = float(value)
        elif name in ("delay_ms", "lived_ms"):
            out[name[:-3] + "_s"] = float(value) / 1000.0
        elif name == "delay":
            d = _DURATION_RE.match(value)
            if d is not None:
                out["delay_s"] = float(d.group("n")) * _UNITS[d.group("unit")]
        elif name in ("reason", "session_id", "url"):
            out[name] = value.strip()
    reason = out.get("reason")
    if isinstance(reason, str) and "code" not in out:
        code = CLOSE_REASON_CODES.get(reason.strip().lower())
        if code is None and (rejected := _REJECTED_RE.search(reason)) is not None:
            code = int(rejected.group("code"))
        if code is not None:
            out["code"] = code  # the reason names the code (the evidence line shows the words)
    return out


class RuleIndex:
    """Every client's rules, indexed by the first two characters of their heads."""

    def __init__(self, tables: Iterable[tuple[str, tuple[Rule, ...]]], hint_only: Iterable[str] = ()) -> None:
        self.order: list[str] = []
        self._orders: dict[tuple[str | None, str | None], tuple[str, ...]] = {}
        self._candidates: dict[tuple[str, tuple[str, ...]], list[Rule]] = {}
        """(first two characters, the clients in order) → the rules to try, in order."""
        self.hint_only = frozenset(hint_only)
        """Clients whose rules are tried only when the line's format (or the file) names them."""
        self._by_key: dict[str, dict[str, list[Rule]]] = {}
        self._headless: dict[str, list[Rule]] = {}
        for client, rules in tables:
            self.order.append(client)
            for r in rules:
                if len(r.head) >= 2:
                    self._by_key.setdefault(r.head[:2], {}).setdefault(client, []).append(r)
                else:
                    self._headless.setdefault(client, []).append(r)

    def match(self, message: str, clients: tuple[str, ...]) -> Match | None:
        """The first rule of the first client in ``clients`` that matches ``message``."""
        key = (message[:2], clients)
        rules = self._candidates.get(key)
        if rules is None:
            keyed = self._by_key.get(message[:2], {})
            rules = [r for c in clients for r in (*keyed.get(c, ()), *self._headless.get(c, ()))]
            if len(self._candidates) < 50_000:
                self._candidates[key] = rules
        for r in rules:
            if message.startswith(r.head):
                m = r.pattern.match(message)
                if m is not None:
                    return Match(r, _fields(m, r.fixed))
        return None

    def priority(self, hint: str | None, dominant: str | None,
                 first: Mapping[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
        """Clients in the order to try them: the format's (and the ones ``first`` says its lines
        may carry), the file's dominant, then the rest."""
        got = self._orders.get((hint, dominant))
        if got is None:
            lead = list((first or {}).get(hint or "", ())) + [c for c in (hint, dominant) if c is not None]
            lead = list(dict.fromkeys(lead))
            seen = set(lead)
            got = self._orders[(hint, dominant)] = tuple(lead + [c for c in self.order
                                                                 if c not in seen and c not in self.hint_only])
        return got
