"""A real-time ServerLink: the chaos gateway's clock, timers, notes and connections.

The simulator (``world/_sim.py``) joins ``GatewayServer`` to a client on a virtual clock;
this link joins the same model to real sockets on ``time.monotonic()``. Model time runs
``time_scale`` times faster than wall time: ``now`` is ``(monotonic() - t0) × time_scale``
and ``after(delay)`` sleeps ``delay / time_scale`` real seconds, so every duration of the
model (heartbeat timeout, the ~1800 s op 7 + 4009 cycle, message gaps, fault times) shrinks
by the same factor. Only the Hello ``heartbeat_interval`` leaves the model as a number the
client reads, so the link hands the model a world whose interval is already divided by
the scale; a client that obeys Hello then heartbeats at the model's pace.

Faults are applied by the model (``GatewayServer.apply`` at their time, ``trigger`` now),
as in the simulator; this link only schedules them and carries out what the model asks
(a close, a black hole). Differences, all forced by real sockets: a black-holed
(half-open) connection also hides the client's own close from the model, which then drops
the flow by its heartbeat watchdog as it would behind a NAT; ``DnsOutage`` cannot break name
resolution of a loopback address, so it resets every TCP connection (REST included, see
``_http``); ``latency_s`` is not added (loopback has its own).

Everything here runs in the gateway's gevent hub and never yields: the model is entered
by one greenlet at a time and always runs to completion.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import sys
import time
import traceback
from typing import Any, Callable, NamedTuple, Protocol

import gevent  # type: ignore[import-untyped, unused-ignore]
import gevent.pool  # type: ignore[import-untyped, unused-ignore]

from .._server import GatewayServer
from .._client_frame import decode_client_frame, sent_event
from .._faults import Fault
from .._network import Network, TimedT
from .._spec import WorldSpec
from .._trace import ClientClosedUnseen, GatewayError, IdentifySent, ResumeSent, TraceEvent, WsAccepted, WsEnded

EVENT_LIMIT = 200_000
"""Keep at most this many events (the oldest half is dropped past it): runs may last days."""


class GatewayEvent(NamedTuple):
    """One observation: ``at`` is ``time.monotonic()``, ``event`` the world's typed event (its own
    ``at`` is model seconds)."""

    at: float
    event: TraceEvent

    @property
    def kind(self) -> str:
        """The event's name (``"server_closed"``, ``"ws_accepted"``, ...)."""
        return self.event.kind

    @property
    def fields(self) -> dict[str, Any]:
        """The event's fields, JSON-ready, plus ``model_at`` (model seconds, 3 decimals)."""
        return {**self.event.to_fields(), "model_at": round(self.event.at, 3)}


class Outlet(Protocol):
    """What the link needs from one accepted WebSocket connection (see ``_ws.WsOutlet``)."""

    def send_text(self, text: str) -> None: ...

    def close(self, code: int | None, reason: str, style: str) -> None: ...

    def blackhole(self) -> None: ...


MIN_TOKEN_LIFETIME_WALL_S = 2.0
MIN_TOKEN_OVERLAP_WALL_S = 1.0
"""A token lives at least 2 s and its overlap lasts at least 1 s of wall time, however fast the
model runs: a client refreshing near expiry needs real time for the round trip."""


def scaled_world(world: WorldSpec, time_scale: float) -> WorldSpec:
    """The world the model runs: the Hello interval (ms, read by the client) divided by the scale,
    and the token lifetime and overlap (model seconds) kept above their wall-clock floors."""
    interval = max(1, round(world.heartbeat_interval_ms / time_scale))
    return dataclasses.replace(
        world, heartbeat_interval_ms=interval,
        token_lifetime_s=max(world.token_lifetime_s, MIN_TOKEN_LIFETIME_WALL_S * time_scale),
        token_overlap_s=max(world.token_overlap_s, MIN_TOKEN_OVERLAP_WALL_S * time_scale))


class RealTimeLink:
    """``ServerLink`` on the wall clock, plus the connection registry and the fault schedule.

    ``server`` is the model, ``network`` its view of the faults in force and the black-holed
    flows.
    """

    def __init__(self, world: WorldSpec, time_scale: float, rng: random.Random,
                 on_event: Callable[[GatewayEvent], None] | None = None) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.world = world
        self.time_scale = time_scale
        self._t0 = time.monotonic()
        self._timers = gevent.pool.Group()
        self._outlets: dict[int, Outlet] = {}
        self._conn_counter = 0
        self._on_event = on_event
        self._stopped = False
        self.events: list[GatewayEvent] = []
        self.server = GatewayServer(scaled_world(world, time_scale), self, rng)
        self.network: Network = self.server.network

    # -- ServerLink --------------------------------------------------------------------
    @property
    def now(self) -> float:
        """Model seconds since ``start()``: wall time × ``time_scale``."""
        return (time.monotonic() - self._t0) * self.time_scale

    @now.setter
    def now(self, value: float) -> None:
        raise AttributeError("the chaos gateway's clock is the wall clock; it cannot be set")

    def real_delay(self, model_s: float) -> float:
        """Wall seconds for ``model_s`` model seconds."""
        return max(0.0, model_s) / self.time_scale

    def after(self, delay_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` ``delay_s`` model seconds from now, in its own greenlet."""
        if self._stopped:
            return
        self._timers.add(gevent.spawn_later(self.real_delay(delay_s), self._run, action))

    def _run(self, action: Callable[[], None]) -> None:
        if self._stopped:
            return
        try:
            action()
        except Exception as exc:  # a model bug must not kill the gateway; it is recorded
            self.note(GatewayError(self.now, repr(exc)))
            traceback.print_exc(file=sys.stderr)

    def note(self, event: TraceEvent) -> None:
        """Record ``event`` with the wall-clock time, and pass it to ``on_event``."""
        recorded = GatewayEvent(time.monotonic(), event)
        self.events.append(recorded)
        if len(self.events) > EVENT_LIMIT:
            del self.events[: EVENT_LIMIT // 2]
        if self._on_event is not None:
            self._on_event(recorded)

    def to_client(self, conn: int, text: str) -> None:
        outlet = self._outlets.get(conn)
        if outlet is not None:
            outlet.send_text(text)

    def close_to_client(self, conn: int, code: int | None, reason: str, style: str) -> None:
        outlet = self._outlets.get(conn)
        if outlet is not None:
            outlet.close(code, reason, style)

    def black_hole(self, conn: int) -> None:
        outlet = self._outlets.get(conn)
        if outlet is not None:
            outlet.blackhole()

    # -- connections (called by the WebSocket layer) --------------------------------------
    def attach(self, outlet: Outlet) -> int:
        """Register an upgraded connection and hand it to the model (Hello goes out)."""
        self._conn_counter += 1
        conn = self._conn_counter
        self._outlets[conn] = outlet
        self.note(WsAccepted(self.now, conn))
        self.server.accept(conn)
        return conn

    def received(self, conn: int, text: str | bytes) -> None:
        """A text frame from the client (ignored while the flow is black-holed), decoded once;
        Identify and Resume are noted as the simulator notes them (heartbeats are not: a long
        run would fill the event list with them)."""
        if self.network.is_black_holed(conn):
            return
        frame = decode_client_frame(text)
        sent = sent_event(self.now, conn, frame)
        if isinstance(sent, (IdentifySent, ResumeSent)):
            self.note(sent)
        self._run(lambda: self.server.receive(conn, frame))

    def detached(self, conn: int, code: int | None) -> None:
        """The connection ended (client close frame, EOF, reset, or after our own close)."""
        self._outlets.pop(conn, None)
        if self.network.is_black_holed(conn):
            self.network.forget(conn)
            self.note(ClientClosedUnseen(self.now, conn, code))
            return
        self.note(WsEnded(self.now, conn, code))
        self.server.client_closed(conn)

    def open_conns(self) -> list[int]:
        return self.server.open_conns()

    # -- faults ------------------------------------------------------------------------------
    def window(self, kind: type[TimedT]) -> TimedT | None:
        """The timed fault of ``kind`` (DnsOutage, RefuseConnects, ...) in force now, or None."""
        return self.network.active(kind, self.now)

    def schedule_faults(self) -> None:
        """Apply each of the world's faults at its time (model seconds from the start)."""
        for f in self.world.faults:
            self.after(f.at - self.now, functools.partial(self.server.apply, f))

    def trigger(self, fault: Fault) -> None:
        """Apply ``fault`` now, whatever its ``at``; a timed fault starts now for its duration."""
        self.server.trigger(fault)

    def stop(self) -> None:
        """Cancel every timer and forget the connections (their sockets are closed by their owners)."""
        self._stopped = True
        self._timers.kill(block=False)
        self._outlets.clear()
