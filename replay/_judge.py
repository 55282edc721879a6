"""A streaming judge: the detectors of ``_detectors`` computed while a run happens, in bounded memory.

``_detectors.detect(run, world)`` reads a finished run's whole trace and journal; a run of
thousands of simulated hours cannot keep those. :class:`Judge` is a ``world.RunObserver``: the
simulator (with ``keep_history=False``) shows it every event, step, push and delivery as they
happen, and it keeps only what its findings need: per open connection its open time and last
inbound frame, a sliding window of socket opens, the last established interval, the messages
pushed and not yet delivered (a message delivered late stops being missing; one still
undelivered an hour after its push is counted missing and forgotten), the latest delivered ids
(to see a second delivery), counters, and the first and last lines of the client's log. Its findings are the same as ``detect``'s on any run
(tests/test_log_replay.py holds them to it on every scenario).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from qqgate import core
from qqgate.core import Command, Input

from ._detectors import (
    DEATH_LOOP_MIN, DEATH_LOOP_WINDOW_S, FATAL_CODES, LONG_OUTAGE_S, SILENT_AFTER_S, STORM_OPENS,
    STORM_WINDOW_S, Finding, _world_down,
)
from ._report import render_log_event
from .world import (
    ClientClosed, DnsOutage, FatalNoted, FlowBlackHoled, HeartbeatSent, HeartbeatTimedOut, IdentifySent,
    LogNoted, RefuseConnects, RequestSent, ResumeSent, ServerClosed, ServerConnEnded, SessionEstablished,
    SocketOpening, SpinStopped, StallConnects, StatusNoted, TraceEvent, WorldSpec,
)
from .world import RunResult

LOG_HEAD = 12
LOG_TAIL = 4
GIVEN_UP_S = 3600.0
"""A message still undelivered this long (virtual seconds) after its push is counted missing and
forgotten: no resume replays one that old (the server's resume window is minutes)."""
DELIVERED_WINDOW = 10_000
"""Delivered ids kept to recognise a second delivery (the oldest are forgotten past this)."""
"""Log lines kept from the start and the end of a run (the rest are counted)."""
IN_FLIGHT_S = RunResult.IN_FLIGHT_S


@dataclass
class Judge:
    """Watches one run of ``world`` (see the module docstring); :meth:`findings` at the end."""

    world: WorldSpec
    opens: int = 0
    identifies: int = 0
    resumes: int = 0
    heartbeats: int = 0
    fatals: int = 0
    first_fatal: FatalNoted | None = None
    last_fatal_at: float | None = None
    steps: int = 0
    log_head: list[str] = field(default_factory=list)
    log_tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))
    log_lines: int = 0
    pushed_count: int = 0
    delivered_count: int = 0
    delivered_twice: int = 0
    _pending: dict[str, float] = field(default_factory=dict)
    _given_up: int = 0
    _delivered: dict[str, None] = field(default_factory=dict)
    delivered_unique: int = 0
    _opened: dict[int, float] = field(default_factory=dict)
    _last_inbound: dict[int, float] = field(default_factory=dict)
    _cuts: list[tuple[int, float, float]] = field(default_factory=list)
    _detected: dict[int, float] = field(default_factory=dict)
    death_hits: int = 0
    death_first: float | None = None
    last_open_at: float | None = None
    min_open_gap: float | None = None
    _window: deque[float] = field(default_factory=deque)
    storm_best: int = 0
    storm_at: float = 0.0
    fatal_close_at: float | None = None
    opens_after_fatal: int = 0
    _pending_4009: bool = False
    reidentified: int = 0
    reidentified_first: float | None = None
    _up: dict[int, float] = field(default_factory=dict)
    last_up_end: float = 0.0
    _prev_end: float = 0.0
    worst_gap: float = 0.0
    worst_gap_at: float | None = None
    spin: SpinStopped | None = None
    outage_opens: dict[int, int] = field(default_factory=dict)
    outage_requests: dict[int, int] = field(default_factory=dict)
    outage_back: dict[int, float] = field(default_factory=dict)
    watch: str | None = None
    """A text to look for in the client's log lines (``watched`` counts the lines holding it)."""
    watched: int = 0

    # -- the observer ---------------------------------------------------------------------------
    def event(self, e: TraceEvent) -> None:
        """One trace event, in run order."""
        match e:
            case SocketOpening(conn=conn):
                self._open(e.at, conn)
            case HeartbeatTimedOut(conn=conn):
                lo, hi = DEATH_LOOP_WINDOW_S
                opened = self._opened.get(conn)
                if opened is not None and lo <= e.at - opened <= hi:
                    self.death_hits += 1
                    self.death_first = e.at if self.death_first is None else self.death_first
            case ServerClosed(code=code):
                if code in FATAL_CODES and self.fatal_close_at is None:
                    self.fatal_close_at = e.at
                if code == 4009:
                    self._pending_4009 = True
            case IdentifySent():
                self.identifies += 1
                if self._pending_4009:
                    self.reidentified += 1
                    self.reidentified_first = e.at if self.reidentified_first is None else self.reidentified_first
                    self._pending_4009 = False
            case ResumeSent():
                self.resumes += 1
                self._pending_4009 = False
            case HeartbeatSent():
                self.heartbeats += 1
            case SessionEstablished(conn=conn):
                self._established(e.at, conn)
            case ServerConnEnded(conn=conn):
                self._ended(e.at, conn)
            case FlowBlackHoled(conn=conn):
                self._cuts.append((conn, e.at, self._last_inbound.get(conn, 0.0)))
            case ClientClosed(conn=conn):
                if conn not in self._detected and any(c == conn and e.at >= at for c, at, _ in self._cuts):
                    self._detected[conn] = e.at
            case FatalNoted():
                self.fatals += 1
                self.first_fatal = self.first_fatal or e
                self.last_fatal_at = e.at
            case SpinStopped():
                self.spin = e
            case LogNoted() | StatusNoted():
                self._log(e)
            case RequestSent():
                self._count_in_outages(e.at, self.outage_requests)
            case _:
                pass

    def step(self, inp: Input, commands: tuple[Command, ...]) -> None:
        """One client step; keeps the time of the last frame received on each open connection."""
        self.steps += 1
        if isinstance(inp, core.FrameReceived) and inp.conn in self._opened:
            self._last_inbound[inp.conn] = inp.at

    def pushed(self, at: float, msg_id: str) -> None:
        self.pushed_count += 1
        if msg_id not in self._delivered:
            self._pending[msg_id] = at
        while self._pending:  # insertion order is push order: the oldest first
            oldest, pushed_at = next(iter(self._pending.items()))
            if at - pushed_at <= GIVEN_UP_S:
                break
            del self._pending[oldest]
            self._given_up += 1

    def delivered(self, msg_id: str) -> None:
        self.delivered_count += 1
        if msg_id in self._delivered:
            self.delivered_twice += 1
            return
        self.delivered_unique += 1
        self._delivered[msg_id] = None
        if len(self._delivered) > DELIVERED_WINDOW:
            del self._delivered[next(iter(self._delivered))]
        self._pending.pop(msg_id, None)

    # -- the pieces -----------------------------------------------------------------------------
    def _open(self, at: float, conn: int) -> None:
        self.opens += 1
        self._opened[conn] = at
        if self.last_open_at is not None:
            gap = at - self.last_open_at
            self.min_open_gap = gap if self.min_open_gap is None else min(self.min_open_gap, gap)
        self.last_open_at = at
        self._window.append(at)
        while self._window[0] < at - STORM_WINDOW_S:
            self._window.popleft()
        if len(self._window) > self.storm_best:
            self.storm_best, self.storm_at = len(self._window), self._window[0]
        if self.fatal_close_at is not None and at > self.fatal_close_at:
            self.opens_after_fatal += 1
        self._count_in_outages(at, self.outage_opens)

    def _count_in_outages(self, at: float, counts: dict[int, int]) -> None:
        for k, f in enumerate(self.world.faults):
            if isinstance(f, (DnsOutage, RefuseConnects, StallConnects)) and f.end_s is not None \
                    and f.at <= at < f.end_s:
                counts[k] = counts.get(k, 0) + 1

    def _established(self, at: float, conn: int) -> None:
        if conn in self._up:
            return
        if not self._up and at - self._prev_end > 0:
            self._gap(self._prev_end, at)
        self._up[conn] = at
        for k, f in enumerate(self.world.faults):
            if isinstance(f, (DnsOutage, RefuseConnects, StallConnects)) and f.end_s is not None \
                    and at >= f.end_s and k not in self.outage_back:
                self.outage_back[k] = at

    def _ended(self, at: float, conn: int) -> None:
        self._opened.pop(conn, None)
        self._last_inbound.pop(conn, None)
        if conn in self._up:
            del self._up[conn]
            self._prev_end = max(self._prev_end, at)
            self.last_up_end = max(self.last_up_end, at)

    def _gap(self, lo: float, hi: float) -> None:
        t, up = lo, 0.0
        while t < hi:  # the seconds of the gap in which the world was up (as _detectors.long_outage)
            step = min(10.0, hi - t)
            if not _world_down(self.world, t):
                up += step
            t += step
        if up > self.worst_gap:
            self.worst_gap, self.worst_gap_at = up, lo

    def _log(self, e: LogNoted | StatusNoted) -> None:
        line = render_log_event(e)
        if line is None:
            return
        if self.watch is not None and self.watch in line:
            self.watched += 1
        self.log_lines += 1
        if len(self.log_head) < LOG_HEAD:
            self.log_head.append(line)
        else:
            self.log_tail.append(line)

    # -- the end --------------------------------------------------------------------------------
    def missing(self, ended_at: float) -> int:
        """Messages pushed (no longer in flight) and never delivered."""
        return self._given_up + sum(1 for at in self._pending.values() if at <= ended_at - IN_FLIGHT_S)

    def log_excerpt(self) -> list[str]:
        """The first and last log lines, with a marker for what was left out."""
        left = self.log_lines - len(self.log_head) - len(self.log_tail)
        return self.log_head + ([f"... ({left} lines omitted) ..."] if left > 0 else []) + list(self.log_tail)

    def detection_delay(self) -> float | None | str:
        """Seconds from the last inbound frame to the client closing the first cut link; None:
        never; ``"-"``: no link was cut."""
        if not self._cuts:
            return "-"
        conn, _, inbound = self._cuts[0]
        closed = self._detected.get(conn)
        return None if closed is None else closed - inbound

    def findings(self, ended_at: float) -> list[Finding]:
        """What ``_detectors.detect`` finds, in its order, from what was watched."""
        out: list[Finding] = []
        if self.death_hits >= DEATH_LOOP_MIN and self.death_first is not None:
            out.append(Finding("death_loop", f"the server dropped {self.death_hits} silent connections ~60 s after "
                               "they were opened: no heartbeat ran on the reconnected socket",
                               self.death_first, self.death_hits))
        if self.spin is not None:
            out.append(Finding("spin", f"busy spin: {self.spin.steps} steps at t={self.spin.at:.3f} s "
                               "with the clock standing still; the run was stopped", self.spin.at, self.spin.steps))
        silent = self._silent_stop(ended_at)
        if silent is not None:
            out.append(silent)
        dead = self._dead_link(ended_at)
        if dead is not None:
            out.append(dead)
        if self.fatal_close_at is not None and self.opens_after_fatal >= 3:
            out.append(Finding("fatal_ignored", f"after a fatal close code at t={self.fatal_close_at:.0f} s the client "
                               f"opened {self.opens_after_fatal} more sockets instead of stopping",
                               self.fatal_close_at, self.opens_after_fatal))
        if self.storm_best >= STORM_OPENS:
            out.append(Finding("reconnect_storm", f"{self.storm_best} sockets opened within {STORM_WINDOW_S:.0f} s "
                               f"({self.opens} in the whole run)", self.storm_at, self.storm_best))
        if self.reidentified >= 3:
            out.append(Finding("reidentify_on_4009", f"{self.reidentified} routine 4009 closes were answered with a "
                               "new Identify: a session start spent every 30 minutes", self.reidentified_first,
                               self.reidentified))
        outage = self._long_outage(ended_at)
        if outage is not None:
            out.append(outage)
        if self.first_fatal is not None:
            kind = "retryable" if self.first_fatal.retryable else "final"
            out.append(Finding("fatal_reported", f"told the host ({kind}): {self.first_fatal.reason}",
                               self.first_fatal.at, self.fatals))
        return out

    def _silent_stop(self, ended_at: float) -> Finding | None:
        if self.spin is not None or self._up:
            return None
        last_try = self.last_open_at or 0.0
        if ended_at - last_try < SILENT_AFTER_S:
            return None
        if self.last_fatal_at is not None and self.last_fatal_at >= self.last_up_end - 1.0:
            return None
        return Finding("silent_stop", f"the client stopped trying at t={last_try:.0f} s, is not connected, and never "
                       f"told the host ({ended_at - last_try:.0f} s of silence)", last_try)

    def _dead_link(self, ended_at: float) -> Finding | None:
        bound = 2 * self.world.heartbeat_interval_ms / 1000.0
        worst, first = 0.0, None
        for conn, cut_at, inbound in self._cuts:
            closed = self._detected.get(conn)
            delay = None if closed is None else closed - inbound
            if delay is None or delay > bound:
                worst = max(worst, delay if delay is not None else ended_at - inbound)
                first = cut_at if first is None else first
        if first is None:
            return None
        return Finding("dead_link_unnoticed", f"a half-open link went unnoticed for {worst:.0f} s "
                       f"(bound: 2 × heartbeat interval = {bound:.1f} s)", first)

    def _long_outage(self, ended_at: float) -> Finding | None:
        worst, at = self.worst_gap, self.worst_gap_at
        if not self._up and ended_at - self._prev_end > 0:
            saved = (self.worst_gap, self.worst_gap_at)
            self._gap(self._prev_end, ended_at)
            worst, at = self.worst_gap, self.worst_gap_at
            self.worst_gap, self.worst_gap_at = saved
        if worst < LONG_OUTAGE_S or at is None:
            return None
        return Finding("long_outage", f"not connected for {worst:.0f} s while the gateway was reachable", at)
