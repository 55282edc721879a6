"""What ``qqgate gateway`` does: serve the chaos gateway on 127.0.0.1 and print what happens.

``build_world`` makes the world the options ask for, ``serve`` runs it until a duration or a
signal. It lives in replay proper, not in the world, because it plays the scenarios.
"""

from __future__ import annotations

import dataclasses
import signal
import sys
import time
from typing import Any

import gevent  # type: ignore[import-untyped, unused-ignore]
import gevent.event  # type: ignore[import-untyped, unused-ignore]

from ._scenarios import SCENARIOS
from .world import WorldSpec
from .world.gateway import ChaosGateway, GatewayEvent


def build_world(scenario: str | None = None, *, message_interval_s: float | None = None,
                duplicate_probability: float | None = None, session_cycle_s: float | None = None,
                heartbeat_timeout_s: float | None = None) -> WorldSpec:
    """A scenario's world (None: a calm one) with the given overrides; None leaves the world's own.

    ``message_interval_s`` and ``session_cycle_s`` of 0 mean none and never; all in model seconds.
    """
    world = SCENARIOS[scenario].world if scenario else WorldSpec()
    changes: dict[str, Any] = {}
    if message_interval_s is not None:
        changes["message_interval_s"] = message_interval_s or None
    if duplicate_probability is not None:
        changes["duplicate_probability"] = duplicate_probability
    if session_cycle_s is not None:
        changes["session_cycle_s"] = session_cycle_s or None
    if heartbeat_timeout_s is not None:
        changes["heartbeat_timeout_s"] = heartbeat_timeout_s
    if changes:
        world = dataclasses.replace(world, **changes)
    return world


def _format(event: GatewayEvent, started: float) -> str:
    fields = dict(event.fields)
    model_at = fields.pop("model_at", 0.0)
    detail = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in fields.items())
    return f"{event.at - started:9.3f}s  (model {model_at:10.1f}s)  {event.kind}  {detail}".rstrip()


def serve(world: WorldSpec, *, scenario: str | None, port: int, time_scale: float, duration_s: float | None,
          seed: int, quiet: bool) -> int:
    """Serve ``world`` on 127.0.0.1:``port`` (0: any free port) until ``duration_s`` wall-clock
    seconds pass (None: no limit) or SIGINT/SIGTERM arrives, printing what happens (``quiet``:
    only the listening line and the summary). ``scenario`` names the world in the output.

    Returns 0, or 2 when it cannot listen.
    """
    started = time.monotonic()

    held: list[GatewayEvent] = []  # events before the listening line is out
    live: list[bool] = [False]

    def printer(event: GatewayEvent) -> None:
        if quiet:
            return
        if live[0]:
            print(_format(event, started), flush=True)
        else:
            held.append(event)

    gateway = ChaosGateway(world, time_scale=time_scale, port=port, seed=seed, on_event=printer)
    try:
        gateway.start()
    except OSError as exc:
        print(f"qqgate gateway: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 2
    print(f"listening on {gateway.http_base} (WebSocket {gateway.ws_url})", flush=True)
    print(f"world: {scenario or 'calm'}, time scale {time_scale:g}, Hello interval "
          f"{gateway.link.server.world.heartbeat_interval_ms} ms, "
          f"faults: {', '.join(f'{type(f).__name__}@{f.at:g}s' for f in world.faults) or 'none'}",
          flush=True)
    live[0] = True
    for event in held:
        print(_format(event, started), flush=True)
    done = gevent.event.Event()
    handlers = [gevent.signal_handler(sig, done.set) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        done.wait(timeout=duration_s)
    finally:
        for handler in handlers:
            handler.cancel()
        server = gateway.link.server
        gateway.stop()
        print(f"stopped: identifies={server.identifies} resumes={server.resumes_accepted} "
              f"pushed={len(server.pushed)} sent={len(gateway.sent_messages)} "
              f"tokens={gateway.token_requests}", flush=True)
    return 0
