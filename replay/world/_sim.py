"""The discrete-event simulator: one client reducer, the server model and the network, on a virtual clock.

One seed drives the whole world (TigerBeetle's VOPR, FoundationDB's simulator): network
latency, server jitter, message times and the client's own PRNG seed. The same seed
gives the same run, step for step. A run never hangs: it ends at its horizon, or when
the client makes ``spin_limit`` steps without the virtual clock moving (a busy spin).
"""

from __future__ import annotations

import functools
import heapq
import random
from typing import Callable, Protocol, assert_never

import orjson

from qqgate import core
from qqgate.core import Command, Input

from ._client_frame import decode_client_frame, sent_event
from ._client_model import ClientModel
from ._faults import DnsOutage, Fault, RefuseConnects, RejectTokens, StallConnects, WrongCertificate
from ._run_result import RunResult
from ._server import GATEWAY_URL, GatewayServer
from ._tokens import INVALID_CREDENTIALS
from ._spec import WorldSpec
from ._trace import (
    ClientClosed, ConnectStalled, DispatchDelivered, FatalNoted, LogNoted, RequestSent,
    SocketOpening, SpinStopped, StatusNoted, TraceEvent,
)

DNS_ERROR = "DNS resolution error [Errno -3] Temporary failure in name resolution"
TLS_ERROR = "TLS error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
"""What a verifying client reports while ``WrongCertificate`` is in force (the shell's wording)."""
BOT_APP_ID = "102000000"
"""The app id the simulated bot's token requests carry (the core's FetchToken has none: the shell holds it)."""
DROP_REASONS = {"fin": "connection lost (EOF)", "empty": "",
                "reset": "ConnectionResetError: [Errno 104] Connection reset by peer"}
"""What the client's transport reports for each way a connection ends with no close code
(``_spec.DropStyle``): the reasons io_shell gives its ``SocketClosed`` (code None each time)."""


class RunObserver(Protocol):
    """Watches a run as it happens (a streaming judge): every trace event, every client step,
    every message the server pushes (virtual time, ``d.id``) and every one the client delivers."""

    def event(self, event: TraceEvent) -> None: ...

    def step(self, inp: Input, commands: tuple[Command, ...]) -> None: ...

    def pushed(self, at: float, msg_id: str) -> None: ...

    def delivered(self, msg_id: str) -> None: ...


class Simulation:
    """Run ``client`` in ``world`` for ``horizon_s`` virtual seconds with ``seed``.

    ``record_journal`` keeps every (input, commands) pair; ``check_invariants`` runs
    ``core.check_step`` after every step (core clients only). ``spin_limit`` is how many
    client steps may happen at one virtual instant before the run is stopped as a spin.
    ``keep_history`` False keeps no per-step history at all (no trace, no delivered or pushed
    ids, no session logs the server can no longer replay): memory stays bounded whatever the
    horizon, and ``observer`` (a streaming judge) sees everything as it happens.
    """

    def __init__(self, world: WorldSpec, client: ClientModel, *, seed: int, horizon_s: float,
                 record_journal: bool = True, check_invariants: bool = True,
                 spin_limit: int = 10_000, settle_dispatches: bool = True,
                 tick_lateness_max_s: float = 0.0, keep_history: bool = True,
                 observer: RunObserver | None = None) -> None:
        self.world = world
        self.client = client
        self.seed = seed
        self.horizon_s = horizon_s
        self.rng = random.Random(seed)
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = 0
        self.keep_history = keep_history
        self.observer = observer
        self.server = GatewayServer(world, self, random.Random(self.rng.getrandbits(64)),
                                    keep_history=keep_history,
                                    on_pushed=observer.pushed if observer is not None else None)
        self.network = self.server.network
        self.state = client.initial_state()
        self.trace: list[TraceEvent] = []
        self.journal: list[tuple[Input, tuple[Command, ...]]] = []
        self.record_journal = record_journal
        self.check_invariants = check_invariants and isinstance(self.state, core.State)
        self.invariant_breaks: list[str] = []
        self.spin_limit = spin_limit
        self.settle = settle_dispatches
        self.tick_lateness_max_s = tick_lateness_max_s
        """Each timer fires up to this many seconds late (a loaded host); 0: on time."""
        self.steps = 0
        self._same_instant = 0
        self._last_step_at = float("-inf")
        self.spin: SpinStopped | None = None
        self._timer_token = 0
        self._client_conns: set[int] = set()
        """Connections the client has open, as its transport sees them."""
        self.delivered_ids: list[str] = []
        self._stopped = False

    # -- the event queue --------------------------------------------------------------
    def after(self, delay_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` ``delay_s`` virtual seconds from now (FIFO among equal times)."""
        self._order += 1
        heapq.heappush(self._queue, (self.now + max(0.0, delay_s), self._order, action))

    def note(self, event: TraceEvent) -> None:
        """Append ``event`` to the trace (and show it to the observer)."""
        if self.keep_history:
            self.trace.append(event)
        if self.observer is not None:
            self.observer.event(event)

    def _latency(self) -> float:
        base = self.world.latency_s
        return base + self.rng.uniform(0.0, base / 2)

    # -- ServerLink: the network, as the server sees it ---------------------------------
    def to_client(self, conn: int, text: str) -> None:
        self.after(self._latency(), lambda: self.feed(core.FrameReceived(self.now, conn, text)))

    def close_to_client(self, conn: int, code: int | None, reason: str, style: str) -> None:
        if code is None:
            reason = DROP_REASONS.get(style, reason)
        self.after(self._latency(), lambda: self._closed_by_server(conn, code, reason))

    def black_hole(self, conn: int) -> None:
        """Nothing to do: ``network`` already drops the flow's frames both ways."""

    def _closed_by_server(self, conn: int, code: int | None, reason: str) -> None:
        self._client_conns.discard(conn)
        self.feed(core.SocketClosed(self.now, conn, code, reason))

    # -- faults -------------------------------------------------------------------------
    def _schedule_faults(self) -> None:
        for f in self.world.faults:
            self._at(f.at, functools.partial(self.server.apply, f))

    def _at(self, at: float, action: Callable[[], None]) -> None:
        self._order += 1
        heapq.heappush(self._queue, (at, self._order, action))

    # -- the client harness ---------------------------------------------------------------
    def feed(self, inp: Input) -> None:
        """Step the client with ``inp`` and carry out its commands."""
        if self._stopped:
            return
        before = self.state
        self.state, commands = self.client.step(before, inp)
        self.steps += 1
        if self.record_journal:
            self.journal.append((inp, commands))
        if self.observer is not None:
            self.observer.step(inp, commands)
        if self.check_invariants:
            for problem in core.check_step(before, inp, self.state, commands):
                self.invariant_breaks.append(f"step {self.steps} at {inp.at:.3f}: {problem}")
        if inp.at == self._last_step_at:
            self._same_instant += 1
            if self._same_instant >= self.spin_limit:
                self.spin = SpinStopped(inp.at, self._same_instant)
                self.note(self.spin)
                self._stopped = True
                return
        else:
            self._same_instant = 0
            self._last_step_at = inp.at
        for cmd in commands:
            self._execute(cmd)
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = self.client.next_deadline(self.state)
        self._timer_token += 1
        if deadline is None:
            return
        token = self._timer_token
        at = max(deadline, self.now)
        if self.tick_lateness_max_s:
            at += self.rng.uniform(0.0, self.tick_lateness_max_s)

        def fire() -> None:
            if token == self._timer_token:
                self.feed(core.Tick(self.now))
        self._at(at, fire)

    def _execute(self, cmd: Command) -> None:
        match cmd:
            case core.FetchToken():
                self._fetch_token()
            case core.ResolveGateway(token=token):
                self._resolve_gateway(token)
            case core.OpenSocket(conn=conn):
                self._open(conn)
            case core.SendFrame(conn=conn, text=text):
                self._send(conn, text)
            case core.CloseSocket(conn=conn, code=code, reason=reason):
                self._close(conn, code, reason)
            case core.Deliver(dispatch=dispatch):
                self._deliver(dispatch)
            case core.StatusChanged(phase=phase, detail=detail):
                self.note(StatusNoted(self.now, phase, detail))
            case core.Fatal(reason=reason, retryable=retryable, close_code=close_code):
                self.note(FatalNoted(self.now, reason, retryable, close_code))
            case core.Log(level=level, event=event, fields=fields):
                self.note(LogNoted(self.now, level, event, dict(fields)))
            case _:
                assert_never(cmd)

    def _unreachable(self) -> str | None:
        """Why a new connection (REST or WebSocket) fails before reaching the server, or None."""
        if self.network.active(DnsOutage, self.now):
            return DNS_ERROR
        if self.network.active(WrongCertificate, self.now):
            return TLS_ERROR
        return None

    def _fetch_token(self) -> None:
        """The token endpoint, answered by the server model's token book (2 × latency later)."""
        self.note(RequestSent(self.now, "token"))
        error = self._unreachable()
        if error is not None:
            self.after(self._latency(), lambda: self.feed(core.TokenFailed(self.now, error)))
            return

        def answer() -> None:
            if self.network.active(RejectTokens, self.now):
                body = orjson.dumps(INVALID_CREDENTIALS).decode()
                self.feed(core.TokenFailed(self.now, f"HTTP 401: {body}"))
                return
            token, expires_in = self.server.tokens.issue(BOT_APP_ID, self.now)
            self.feed(core.TokenIssued(self.now, token, float(expires_in)))
        self.after(2 * self._latency(), answer)

    def _resolve_gateway(self, token: str | None) -> None:
        """``GET /gateway/bot`` with the core's token: 401 for a token the server does not know."""
        self.note(RequestSent(self.now, "gateway"))
        error = self._unreachable()
        if error is not None:
            self.after(self._latency(), lambda: self.feed(core.GatewayFailed(self.now, error)))
            return

        def answer() -> None:
            if not self.server.tokens.check(token, self.now):
                self.feed(core.GatewayFailed(self.now, "HTTP 401: invalid or expired access token"))
                return
            limit = core.SessionStartLimit(*self.server.session_start_limit(self.now))
            self.feed(core.GatewayResolved(self.now, GATEWAY_URL, limit))
        self.after(2 * self._latency(), answer)

    def _send(self, conn: int, text: str) -> None:
        """Carry one client frame: decoded once, delivered after the latency unless the flow is
        black-holed or the socket is not open, and noted as sent either way."""
        frame = decode_client_frame(text)
        if conn in self._client_conns and not self.network.is_black_holed(conn):
            self.after(self._latency(), lambda: self.server.receive(conn, frame))
        event = sent_event(self.now, conn, frame)
        if event is not None:
            self.note(event)

    def _close(self, conn: int, code: int, reason: str) -> None:
        self.note(ClientClosed(self.now, conn, code, reason))
        if conn in self._client_conns:
            self._client_conns.discard(conn)
            self.after(self._latency(), lambda: self.server.client_closed(conn))
            # The transport reports the close too; the client must treat it as stale.
            self.after(2 * self._latency(), lambda: self.feed(core.SocketClosed(self.now, conn, code, reason)))

    def _deliver(self, dispatch: core.Dispatch) -> None:
        data = dispatch.data
        msg_id = data.get("id") if isinstance(data, dict) else None
        if dispatch.event_type == "C2C_MESSAGE_CREATE" and isinstance(msg_id, str):
            if self.keep_history:
                self.delivered_ids.append(msg_id)
            if self.observer is not None:
                self.observer.delivered(msg_id)
        self.note(DispatchDelivered(self.now, dispatch.seq, dispatch.event_type))
        if self.settle:
            seq, epoch = dispatch.seq, dispatch.session_epoch
            self.after(0.0, lambda: self.feed(core.DispatchSettled(self.now, seq, epoch)))

    def _open(self, conn: int) -> None:
        now = self.now
        self.note(SocketOpening(now, conn))
        unreachable = self._unreachable()
        if unreachable is not None:
            error: str = unreachable
            self.after(self._latency(), lambda: self.feed(core.ConnectFailed(self.now, conn, error)))
            return
        refused = self.network.active(RefuseConnects, now)
        if refused is not None:
            error = refused.error
            self.after(self._latency(), lambda: self.feed(core.ConnectFailed(self.now, conn, error)))
            return
        if self.network.active(StallConnects, now) is not None:
            self.note(ConnectStalled(now, conn))
            return

        def accepted() -> None:
            self._client_conns.add(conn)
            self.feed(core.SocketOpened(self.now, conn))
            self.server.accept(conn)
        self.after(2 * self._latency(), accepted)

    # -- running ---------------------------------------------------------------------------
    def run(self) -> RunResult:
        """Run to the horizon (or a spin) and return the result."""
        self.begin()
        self.run_until(self.horizon_s)
        return self.result()

    def begin(self) -> None:
        """Schedule the world's faults and the client's Start at time 0 (incremental use)."""
        self._schedule_faults()
        self._at(0.0, lambda: self.feed(core.Start(self.now)))

    def run_until(self, until: float) -> None:
        """Process every event up to virtual time ``until`` (seconds), or until a spin stops the run."""
        while self._queue and not self._stopped:
            at, _, action = self._queue[0]
            if at > until:
                break
            heapq.heappop(self._queue)
            self.now = at
            action()
        if not self._stopped:
            self.now = max(self.now, until)

    def inject(self, fault: Fault) -> None:
        """Apply ``fault`` now (its ``at`` is ignored; a timed fault starts now)."""
        self.server.trigger(fault)

    def result(self) -> RunResult:
        """The run so far as a RunResult."""
        ended = self.now if self._stopped else min(self.now, self.horizon_s)
        fates = self.server.message_fates(self.delivered_ids, ended, RunResult.IN_FLIGHT_S)
        return RunResult(
            client=self.client.name, seed=self.seed, horizon_s=self.horizon_s, ended_at=ended,
            steps=self.steps, spin=self.spin, trace=self.trace, journal=self.journal,
            invariant_breaks=self.invariant_breaks, pushed=list(self.server.pushed),
            delivered_ids=self.delivered_ids, identifies=self.server.identifies,
            resumes_accepted=self.server.resumes_accepted, final_state=self.state, fates=fates)
