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
import orjson

from .._server import GatewayServer
from .._faults import Fault
from .._network import Network, TimedT
from .._spec import WorldSpec

EVENT_LIMIT = 200_000
"""Keep at most this many events (the oldest half is dropped past it): runs may last days."""


class GatewayEvent(NamedTuple):
    """One observation: ``at`` is ``time.monotonic()``; ``fields`` carry ``model_at`` (model seconds)."""

    at: float
    kind: str
    fields: dict[str, Any]


class Outlet(Protocol):
    """What the link needs from one accepted WebSocket connection (see ``_ws.WsOutlet``)."""

    def send_text(self, text: str) -> None: ...

    def close(self, code: int | None, reason: str) -> None: ...

    def blackhole(self) -> None: ...


def scaled_world(world: WorldSpec, time_scale: float) -> WorldSpec:
    """The world the model runs: the Hello interval (ms, read by the client) divided by the scale."""
    interval = max(1, round(world.heartbeat_interval_ms / time_scale))
    return dataclasses.replace(world, heartbeat_interval_ms=interval)


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
            self.note("gateway_error", error=repr(exc))
            traceback.print_exc(file=sys.stderr)

    def note(self, kind: str, **fields: Any) -> None:
        event = GatewayEvent(time.monotonic(), kind, {**fields, "model_at": round(self.now, 3)})
        self.events.append(event)
        if len(self.events) > EVENT_LIMIT:
            del self.events[: EVENT_LIMIT // 2]
        if self._on_event is not None:
            self._on_event(event)

    def to_client(self, conn: int, text: str) -> None:
        outlet = self._outlets.get(conn)
        if outlet is not None:
            outlet.send_text(text)

    def close_to_client(self, conn: int, code: int | None, reason: str) -> None:
        outlet = self._outlets.get(conn)
        if outlet is not None:
            outlet.close(code, reason)

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
        self.note("ws_accepted", conn=conn)
        self.server.accept(conn)
        return conn

    def received(self, conn: int, text: str) -> None:
        """A text frame from the client (ignored while the flow is black-holed)."""
        if self.network.is_black_holed(conn):
            return
        self._note_frame(conn, text)
        self._run(lambda: self.server.receive(conn, text))

    def _note_frame(self, conn: int, text: str) -> None:
        """Note Identify and Resume as the simulator does ("identify", "resume"); heartbeats are not noted."""
        if '"op"' not in text or ("2" not in text and "6" not in text):
            return
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            return
        if not isinstance(frame, dict) or frame.get("op") not in (2, 6):
            return
        raw_d = frame.get("d")
        d: dict[str, Any] = raw_d if isinstance(raw_d, dict) else {}
        if frame["op"] == 2:
            self.note("identify", conn=conn, intents=d.get("intents"), shard=d.get("shard"))
        else:
            self.note("resume", conn=conn, session_id=d.get("session_id"), seq=d.get("seq"))

    def detached(self, conn: int, code: int | None) -> None:
        """The connection ended (client close frame, EOF, reset, or after our own close)."""
        self._outlets.pop(conn, None)
        if self.network.is_black_holed(conn):
            self.network.forget(conn)
            self.note("client_closed_unseen", conn=conn, code=code)
            return
        self.note("ws_ended", conn=conn, code=code)
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
