"""The facts a diagnosis needs, gathered while the log streams by (bounded memory).

A :class:`Digest` holds one :class:`ClientFacts` per client whose lines were understood; each
takes the client's timed events in order and keeps counts, the first and last event of
interest, and a few examples per pattern (:data:`EXAMPLES`), never the events themselves. The
patterns are the incident taxonomy's (``_diagnose``): code-less drops about a minute after a
reconnect (the server's heartbeat timeout), resumes and identifies rejected, fatal closes
retried, routine 4009 closes answered with a new Identify, a client's own ACK watchdog, bursts
of session starts, give-ups, crashes, and how the log ends.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from ._events import ALIVE, DIALS, DROPS, UP, Elision, EventKind, LogEvent
from ._timeline import TimeBasis, TimedEvent

K = EventKind
EXAMPLES = 4
"""Evidence lines kept per pattern (the count is kept exactly)."""

HEARTBEAT_TIMEOUT_WINDOW_S = (50.0, 100.0)
"""A code-less drop this long (seconds) after a (re)connection is the server dropping a socket
that sent no heartbeat: ~60 s in #19648 and #19414, 60-90 s in #20531."""
MAX_RESOLUTION_S = 5.0
"""Only stamps at least this fine (seconds) measure a heartbeat timeout."""
BURST_S = 1.0
"""Session starts this close together (seconds) are one burst (AstrBot#7708: 7 in 5 ms)."""
FATAL_CONFIG_CODES = frozenset({4001, 4002, 4010, 4011, 4012, 4013, 4014})
"""Closes that say the bot's configuration is wrong (protocol.md "Close codes"): retrying is futile."""
BAN_CODES = frozenset({4914, 4915})
RESUME_REJECT_CODES = frozenset({4902, 4006, 4007})
"""Closes that reject a Resume: 4902 "reset by resume" (bot-node-sdk#94), 4006/4007."""
IDENTIFY_REJECT_CODES = frozenset({4903})
"""Closes that reject an Identify: 4903 "create session error" (openclaw-qqbot#18)."""


@dataclass(slots=True)
class Examples:
    """A counted pattern with its first few examples (``(timed event, what it shows)``)."""

    count: int = 0
    items: list[tuple[TimedEvent, str]] = field(default_factory=list)

    def add(self, te: TimedEvent, what: str) -> None:
        self.count += 1
        if len(self.items) < EXAMPLES:
            self.items.append((te, what))

    @property
    def first(self) -> TimedEvent | None:
        return self.items[0][0] if self.items else None


def _measured(te: TimedEvent | None) -> bool:
    """A time good enough to measure a minute-long interval: read, or from a note."""
    return te is not None and te.t_s is not None and te.basis in (TimeBasis.STAMP, TimeBasis.NOTE,
                                                                    TimeBasis.ORIGIN) \
        and te.resolution_s <= MAX_RESOLUTION_S


@dataclass(slots=True)
class ClientFacts:
    """What one client's events show (see the module docstring)."""

    client: str
    counts: Counter[EventKind] = field(default_factory=Counter)
    first: dict[EventKind, TimedEvent] = field(default_factory=dict)
    last: dict[EventKind, TimedEvent] = field(default_factory=dict)
    first_life: TimedEvent | None = None
    last_life: TimedEvent | None = None
    last_alive: TimedEvent | None = None
    drops: Examples = field(default_factory=Examples)
    last_drop: TimedEvent | None = None
    cycles: Examples = field(default_factory=Examples)
    resume_rejected: Examples = field(default_factory=Examples)
    same_session_resumes: Examples = field(default_factory=Examples)
    identify_rejected: Examples = field(default_factory=Examples)
    rejection_retried: bool = False
    fatal_config: Examples = field(default_factory=Examples)
    fatal_config_retried: bool = False
    ban: TimedEvent | None = None
    dials_after_ban: int = 0
    reidentify_4009: Examples = field(default_factory=Examples)
    reidentify_drop: Examples = field(default_factory=Examples)
    routine_resumed: Examples = field(default_factory=Examples)
    ack_watchdog: Examples = field(default_factory=Examples)
    ack_watchdog_one_miss: bool = False
    gave_up: TimedEvent | None = None
    failures: Examples = field(default_factory=Examples)
    crashed: TimedEvent | None = None
    bursts: Examples = field(default_factory=Examples)
    max_burst: int = 0
    dials: int = 0
    lost_codes: Examples = field(default_factory=Examples)
    coded_closes: int = 0
    recovered: int = 0
    activity_after_last: int = 0
    had_session: bool = False
    paraphrased: int = 0
    wordings: set[str] = field(default_factory=set)
    sources: Counter[str] = field(default_factory=Counter)
    # -- running state -------------------------------------------------------------------------
    _up: bool = False
    _down: bool = False
    _dialed_since_drop: bool = True
    _anchor: TimedEvent | None = None
    _pending_close: TimedEvent | None = None
    _resume_pending: TimedEvent | None = None
    _resume_session: str | None = None
    _identify_pending: TimedEvent | None = None
    _retry_stated: bool = False
    _after_fatal: bool = False
    _burst: deque[float] = field(default_factory=deque)
    _burst_first: TimedEvent | None = None

    def feed(self, te: TimedEvent) -> None:
        """Take the client's next event (in log order)."""
        ev = te.event
        k = ev.kind
        self.counts[k] += 1
        self.first.setdefault(k, te)
        self.last[k] = te
        self._wording(ev)
        if ev.paraphrase:
            self.paraphrased += 1
        if k is K.ACTIVITY:
            self.activity_after_last += 1
            return
        self.activity_after_last = 0
        if self.first_life is None:
            self.first_life = te
        self.last_life = te
        if k in ALIVE:
            self.last_alive = te
            if self._down:
                self.recovered += 1
            self._up, self._down = True, False
            self.had_session = self.had_session or k in UP or k is K.MESSAGE
        if k in DROPS:
            self._drop(te)
        elif k in DIALS:
            self._dial(te)
        if k in UP:
            self._session(te)
        handler = getattr(self, "_on_" + k.name.lower(), None)
        if handler is not None:
            handler(te)

    # -- per kind --------------------------------------------------------------------------------
    def _drop(self, te: TimedEvent) -> None:
        ev = te.event
        new = not self._down or self._dialed_since_drop
        if not new:
            if ev.kind is K.WS_ERROR:  # an error while already down: the attempt failed
                self.failures.add(te, f"{ev.describe()} while reconnecting")
            return
        self.drops.add(te, ev.describe())
        self.last_drop = te
        self._up, self._down, self._dialed_since_drop = False, True, False
        codeless = ev.kind is K.WS_ERROR or (ev.kind is K.CLOSED and ev.code is None)
        anchor = self._anchor
        if codeless and anchor is not None and _measured(te) and _measured(anchor):
            assert te.t_s is not None and anchor.t_s is not None
            dt = te.t_s - anchor.t_s
            lo, hi = HEARTBEAT_TIMEOUT_WINDOW_S
            if lo <= dt <= hi:
                self.cycles.add(te, f"{ev.describe()} {dt:.0f} s after the {anchor.event.kind.name} of "
                                    f"{anchor.when()}")
        self._anchor = None
        if ev.kind is K.WS_ERROR and (ev.reason or "").strip().lower() == "websocket closed":
            self.lost_codes.add(te, "the close arrived as RuntimeError('WebSocket closed'): code and reason lost")
        if ev.kind is K.CLOSED and ev.code is not None:
            self.coded_closes += 1
        self._close_code(te, ev.code)
        self._pending_close = te

    def _close_code(self, te: TimedEvent, code: int | None) -> None:
        ev = te.event
        if code in FATAL_CONFIG_CODES:
            self.fatal_config.add(te, f"{ev.describe()}: a configuration error the client cannot fix by retrying")
            self._after_fatal = True
            if self._retry_stated or ev.delay_s is not None:
                self.fatal_config_retried = True
        if code in BAN_CODES and self.ban is None:
            self.ban = te
        rejected_resume = code in RESUME_REJECT_CODES or "before ready" in (ev.reason or "").lower()
        if rejected_resume and (self._resume_pending is not None or code == 4902 or code is not None):
            self.resume_rejected.add(te, f"{ev.describe()}: the Resume was refused")
        if (code in IDENTIFY_REJECT_CODES) and not rejected_resume:
            self.identify_rejected.add(te, f"{ev.describe()}: the Identify was refused")
            if self._retry_stated:
                self.rejection_retried = True

    def _dial(self, te: TimedEvent) -> None:
        self.dials += 1
        self._dialed_since_drop = True
        self._retry_stated = False
        if self._after_fatal or self.identify_rejected.count or self.resume_rejected.count:
            self.fatal_config_retried = self.fatal_config_retried or self._after_fatal
            self.rejection_retried = self.rejection_retried or bool(self.identify_rejected.count)
        if self.ban is not None:
            self.dials_after_ban += 1
        if te.event.kind in (K.CONNECTED, K.RECONNECTED):
            self._anchor = te
        if te.event.kind is K.CONNECTING and te.t_s is not None and te.basis is TimeBasis.STAMP:
            t = te.t_s
            self._burst.append(t)
            while self._burst and self._burst[0] < t - BURST_S:
                self._burst.popleft()
            if len(self._burst) == 1:
                self._burst_first = te
            if len(self._burst) > self.max_burst:
                self.max_burst = len(self._burst)
                if len(self._burst) == 3 and self._burst_first is not None:
                    self.bursts.add(self._burst_first, "a burst of session starts")

    def _session(self, te: TimedEvent) -> None:
        ev = te.event
        close = self._pending_close
        if close is not None:
            code = close.event.code
            if ev.kind is K.RESUMED and (code == 4009 or code is None or code in (1000, 1001, 1006)):
                self.routine_resumed.add(te, f"resumed after {close.event.describe()} ({close.when()})")
            elif ev.kind is K.READY:
                self._reidentified(te, close)
        self._pending_close = None
        self._resume_pending = self._identify_pending = None
        self._resume_session = None
        self._anchor = te if _measured(te) else self._anchor

    def _reidentified(self, te: TimedEvent, close: TimedEvent) -> None:
        code = close.event.code
        if not self.had_session and close.event.kind is not K.CLOSED:
            return
        if code == 4009:
            self.reidentify_4009.add(te, f"a new session after the routine {close.event.describe()} "
                                         f"({close.when()}): the old one was dropped")
        elif code is None or code in (1000, 1001, 1006):
            self.reidentify_drop.add(te, f"a new session after {close.event.describe()} ({close.when()}): "
                                         "the client identified instead of resuming")

    def _on_identify_sent(self, te: TimedEvent) -> None:
        self._identify_pending = te
        if self._pending_close is not None and self.had_session:
            self._reidentified(te, self._pending_close)
            self._pending_close = None

    def _on_resume_sent(self, te: TimedEvent) -> None:
        sid = te.event.session_id
        if self._resume_pending is not None and sid and sid == self._resume_session and sid not in ("...", "…"):
            self.same_session_resumes.add(te, f"Resume sent again for session {sid} with no RESUMED since "
                                              f"{self._resume_pending.when()}")
        self._resume_pending = te
        self._resume_session = sid
        self._pending_close = None

    def _on_session_cleared(self, te: TimedEvent) -> None:
        close = self._pending_close
        code = te.event.code if te.event.code is not None else (close.event.code if close else None)
        if code == 4009 and close is not None:
            self.reidentify_4009.add(te, f"the session is dropped on the routine {close.event.describe()} "
                                         f"({close.when()}): the next connection identifies")
            self._pending_close = None

    def _on_invalid_session(self, te: TimedEvent) -> None:
        if self._resume_pending is not None:
            self.resume_rejected.add(te, "op 9 answered the Resume")
        else:
            self.identify_rejected.add(te, "op 9 (Invalid Session) answered the Identify")
            if self._retry_stated:
                self.rejection_retried = True

    def _on_auth_failed(self, te: TimedEvent) -> None:
        self.identify_rejected.add(te, f"{te.event.describe()}: the handshake was refused")
        if self._retry_stated:
            self.rejection_retried = True

    def _on_reconnecting(self, te: TimedEvent) -> None:
        self._retry_stated = True
        if self.identify_rejected.count and self._identify_pending is not None:
            self.rejection_retried = True
        if self._after_fatal:
            self.fatal_config_retried = True

    def _on_reconnect_failed(self, te: TimedEvent) -> None:
        self.failures.add(te, te.event.describe())
        code = te.event.code
        if code is not None:
            self._close_code(te, code)

    def _on_ack_timeout(self, te: TimedEvent) -> None:
        if self.ack_watchdog.items and self.ack_watchdog.items[-1][0].event.lineno + 1 >= te.event.lineno \
                and not self._dialed_since_drop:
            return
        self.ack_watchdog.add(te, te.event.describe())
        if te.event.count == 1:
            self.ack_watchdog_one_miss = True

    def _on_gave_up(self, te: TimedEvent) -> None:
        self.gave_up = self.gave_up or te

    def _on_crashed(self, te: TimedEvent) -> None:
        self.crashed = self.crashed or te

    def _on_fatal_close(self, te: TimedEvent) -> None:
        code = te.event.code
        if code in BAN_CODES:
            self.ban = self.ban or te
        elif code is not None:
            self._close_code(te, code)

    def _wording(self, ev: LogEvent) -> None:
        """Wordings that date a client version (``_versions``)."""
        if ev.client == "hermes":
            if ev.kind is K.RESUMED and ev.seq is not None and not ev.paraphrase:
                self.wordings.add("resumed-with-seq")
            elif ev.kind in (K.RECONNECT_REQUESTED, K.INVALID_SESSION) or (
                    ev.kind is K.FATAL_CLOSE and ev.code not in (4914, 4915)):
                self.wordings.add("op7-op9-handled")
            elif ev.kind is K.SESSION_CLEARED and ev.code == 4009:
                self.wordings.add("4009-clears-session")
        elif ev.client == "botpy" and ev.kind is K.CLOSED and ev.fmt.endswith("botpy"):
            src = ev.text.split("(gateway.py:", 1)
            if len(src) == 2:
                self.sources["gateway.py:" + src[1].split(")", 1)[0]] += 1

    # -- how the log ends ------------------------------------------------------------------------
    @property
    def ends(self) -> str:
        """``"up"``, ``"down"`` (a drop or a failed attempt last), ``"dialing"``, ``"gave_up"``,
        ``"stopped"``, ``"crashed"`` or ``"none"``: the state the last lifecycle event leaves."""
        te = self.last_life
        if te is None:
            return "none"
        k = te.event.kind
        if self.crashed is not None and self.crashed.lineno >= (self.last_drop.lineno if self.last_drop else 0):
            return "crashed"
        if k is K.GAVE_UP:
            return "gave_up"
        if k is K.STOPPED:
            return "stopped"
        if k in ALIVE or (self._up and k not in DROPS):
            return "up"
        if self._down or k in (K.RECONNECT_FAILED, K.RECONNECTING, K.SESSION_CLEARED, K.QUICK_DISCONNECT,
                               K.RATE_LIMITED, K.TOKEN_INVALID, K.FATAL_CLOSE, K.INVALID_SESSION, K.AUTH_FAILED):
            return "down"
        return "dialing"


@dataclass(slots=True)
class Digest:
    """Facts per client, and the notes that count attempts."""

    clients: dict[str, ClientFacts] = field(default_factory=dict)
    attempt_notes: list[Elision] = field(default_factory=list)
    events: int = 0

    def feed(self, te: TimedEvent) -> None:
        """Take the next timed event (any client)."""
        self.events += 1
        facts = self.clients.get(te.event.client)
        if facts is None:
            facts = self.clients[te.event.client] = ClientFacts(te.event.client)
        facts.feed(te)

    def note(self, n: Elision) -> None:
        """A note (elision); kept when it states a number of attempts (bounded)."""
        if n.attempts is not None and len(self.attempt_notes) < EXAMPLES:
            self.attempt_notes.append(n)

    def main(self, dominant: str | None) -> ClientFacts | None:
        """The facts of the client the log is from (the reader's dominant client)."""
        if dominant is not None and dominant in self.clients:
            return self.clients[dominant]
        lifecycle = [f for f in self.clients.values() if f.last_life is not None]
        return max(lifecycle, key=lambda f: sum(f.counts.values()), default=None)
