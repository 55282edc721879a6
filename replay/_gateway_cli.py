"""``qqgate gateway``: run the chaos gateway on 127.0.0.1 until Ctrl-C or ``--duration``.

Registered by ``replay.cli`` (its EXTENSIONS list) through ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
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

DESCRIPTION = """\
Run a real QQ Bot gateway on 127.0.0.1 (HTTP and WebSocket on one port), driven by the same
server model as `qqgate simulate`, so any client - qqgate's own, botpy, hermes-agent's adapter -
can be run against the scenarios' faults.

Endpoints (point the client's https://bots.qq.com and https://api.sgroup.qq.com at the printed
http:// base): POST /app/getAppAccessToken, GET /gateway, GET /gateway/bot, GET /users/@me,
POST /v2/users/{openid}/messages, POST /v2/groups/{group_openid}/messages,
POST /channels/{channel_id}/messages, and the WebSocket at /websocket. Every API call but the
token needs `Authorization: QQBot <access_token>`. For other processes: GET /_chaos/state (what
happened: events, pushed message ids, messages sent) and POST /_chaos/trigger with a JSON fault,
e.g. {"fault": "ServerClose", "code": 4009} or {"fault": "RefuseConnects", "duration_s": 600}
(durations in model seconds; the fault starts now).

The world: a calm one by default (Hello 41250 ms, a C2C message every ~20 s, op 7 + 4009 every
~1800 s, a silent connection dropped after 60 s), or a scenario's, whose faults fire at their
times (model seconds from start). Time scale X makes every server-side duration X times shorter,
the Hello heartbeat_interval included, so a client that obeys Hello keeps up: with X = 60 the
30-minute cycle comes every 30 s and a fault at 900 s fires after 15 s.

Faults as they appear on real sockets: ServerClose sends that close code (none: TCP dropped with
no close frame); ServerReconnect op 7 then 4009; HalfOpen stops reading and sending on the live
connections without closing them (the server drops them after its heartbeat timeout, unseen);
RefuseConnects resets WebSocket upgrades (REST still works); StallConnects never answers them;
DnsOutage resets every connection, REST included; RejectResumes closes each Resume at once;
InvalidateSessions forgets every session (a Resume gets op 9, then 4006); Ban closes with
4914/4915 now and after every later Identify/Resume.
"""

EPILOG = """\
Examples:
  qqgate gateway                                     # calm world, real time, port picked
  qqgate gateway --port 8080 --scenario half-open --time-scale 60
  qqgate gateway --scenario session-cycle --time-scale 600 --duration 30 --quiet
Scenarios: """ + ", ".join(sorted(SCENARIOS))


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _non_negative(text: str) -> float:
    if text.strip() == "0":
        return 0.0
    return _positive(text)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be an integer, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {text}")
    return value


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``gateway`` subcommand."""
    p = subparsers.add_parser(
        "gateway", help="run the chaos gateway (a real QQ gateway with scripted faults) on 127.0.0.1",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=_port, default=0, help="TCP port on 127.0.0.1 (default 0: any free port)")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default=None, metavar="NAME",
                   help="play this scenario's world and faults (default: a calm world with messages)")
    p.add_argument("--time-scale", type=_positive, default=1.0, metavar="X",
                   help="divide every server-side duration by X, the Hello interval included (default 1)")
    p.add_argument("--duration", type=_positive, default=None, metavar="S",
                   help="stop after S wall-clock seconds (default: run until Ctrl-C or SIGTERM)")
    p.add_argument("--seed", type=int, default=1, help="seed of the model's randomness (default 1)")
    p.add_argument("--message-interval", type=_non_negative, default=None, metavar="S",
                   help="mean model seconds between C2C message dispatches; 0: none (default: the world's)")
    p.add_argument("--duplicate-probability", type=_probability, default=None, metavar="P",
                   help="chance each message dispatch is pushed twice with the same d.id (default: the world's)")
    p.add_argument("--session-cycle", type=_non_negative, default=None, metavar="S",
                   help="model seconds before op 7 + 4009 on a connection; 0: never (default: the world's, 1800)")
    p.add_argument("--heartbeat-timeout", type=_positive, default=None, metavar="S",
                   help="model seconds of client silence before the server drops the connection "
                        "(default: the world's, 60; raise it for clients with a fixed heartbeat, like botpy's 30 s)")
    p.add_argument("--quiet", action="store_true", help="print only the listening line and the summary")
    p.set_defaults(func=run)


def build_world(args: argparse.Namespace) -> WorldSpec:
    """The world ``args`` ask for: a scenario's (or a calm one) with the overrides applied."""
    world = SCENARIOS[args.scenario].world if args.scenario else WorldSpec()
    changes: dict[str, Any] = {}
    if args.message_interval is not None:
        changes["message_interval_s"] = args.message_interval or None
    if args.duplicate_probability is not None:
        changes["duplicate_probability"] = args.duplicate_probability
    if args.session_cycle is not None:
        changes["session_cycle_s"] = args.session_cycle or None
    if args.heartbeat_timeout is not None:
        changes["heartbeat_timeout_s"] = args.heartbeat_timeout
    if changes:
        world = dataclasses.replace(world, **changes)
    return world


def _format(event: GatewayEvent, started: float) -> str:
    fields = dict(event.fields)
    model_at = fields.pop("model_at", 0.0)
    detail = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in fields.items())
    return f"{event.at - started:9.3f}s  (model {model_at:10.1f}s)  {event.kind}  {detail}".rstrip()


def run(args: argparse.Namespace) -> int:
    """Serve until ``--duration`` passes or a signal arrives; exit status 0, or 2 if it cannot listen."""
    world = build_world(args)
    started = time.monotonic()

    held: list[GatewayEvent] = []  # events before the listening line is out
    live: list[bool] = [False]

    def printer(event: GatewayEvent) -> None:
        if args.quiet:
            return
        if live[0]:
            print(_format(event, started), flush=True)
        else:
            held.append(event)

    gateway = ChaosGateway(world, time_scale=args.time_scale, port=args.port, seed=args.seed,
                           on_event=printer)
    try:
        gateway.start()
    except OSError as exc:
        print(f"qqgate gateway: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(f"listening on {gateway.http_base} (WebSocket {gateway.ws_url})", flush=True)
    scenario = args.scenario or "calm"
    print(f"world: {scenario}, time scale {args.time_scale:g}, Hello interval "
          f"{gateway.link.server.world.heartbeat_interval_ms} ms, "
          f"faults: {', '.join(f'{type(f).__name__}@{f.at:g}s' for f in world.faults) or 'none'}",
          flush=True)
    live[0] = True
    for event in held:
        print(_format(event, started), flush=True)
    done = gevent.event.Event()
    handlers = [gevent.signal_handler(sig, done.set) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        done.wait(timeout=args.duration)
    finally:
        for handler in handlers:
            handler.cancel()
        server = gateway.link.server
        gateway.stop()
        print(f"stopped: identifies={server.identifies} resumes={server.resumes_accepted} "
              f"pushed={len(server.pushed)} sent={len(gateway.sent_messages)} "
              f"tokens={gateway.token_requests}", flush=True)
    return 0
