"""The ``qqgate`` command line: every subcommand's arguments, parsed here and nowhere else.

This is the console script (``qqgate = "qqgate.cli:main"``, and ``python -m qqgate``). It
parses a subcommand's arguments (value types: ``_argtypes``) and calls the part that does the
work with plain values; no code below it sees an ``argparse.Namespace``:

    simulate, replay, timeline,    qqgate.replay (_subcommands; _log_replay for a text log;
    incidents                      the pictures and the terminal timeline: replay.timeline)
    soak, fuzz, crash-test         qqgate.replay.checks (_soak_command, _fuzz_command, ...)
    gateway                        qqgate.replay (_gateway_command: the chaos gateway;
                                   _webhook_command: its webhook mode)
    run                            qqgate.io_shell (_run_command: a live bot; webhook._run for
                                   --transport webhook)
    export                         qqgate.io_shell.journal (_export_command)

Parts are imported when their subcommand runs, so a subcommand loads only what it uses (``qqgate
run`` needs no monkey-patching: the runtime has a thread of its own). ``qqgate replay STORE`` and
``qqgate timeline STORE`` are the places a journal store is read for replay: here, and its bytes
are handed to replay.

Exit status: 0 when the run met its expectations, 1 when it did not (a core failure, an
incident the legacy model failed to reproduce, a journal that diverges, a failed check), 2 on
bad usage or an unreadable file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Sequence, TypeAlias

from qqgate.io_shell._run_command import DEFAULT_JOURNAL
from qqgate.replay import SCENARIOS
from qqgate.replay.checks import LIVENESS_BOUND_S

from . import _argtypes as types
from ._paths import output_problem

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

GATEWAY_DESCRIPTION = """\
Run a real QQ Bot gateway on 127.0.0.1 (HTTP and WebSocket on one port), driven by the same
server model as `qqgate simulate`, so any client - qqgate's own, botpy, hermes-agent's adapter -
can be run against the scenarios' faults.

Endpoints (point the client's https://bots.qq.com and https://api.sgroup.qq.com at the printed
http:// base): POST /app/getAppAccessToken, GET /gateway, GET /gateway/bot, GET /users/@me,
POST /v2/users/{openid}/messages, POST /v2/groups/{group_openid}/messages,
POST /channels/{channel_id}/messages, POST /dms/{guild_id}/messages, and the WebSocket at
/websocket. Every API call but the token needs `Authorization: QQBot <access_token>`. For
other processes: GET /_chaos/state (what happened: events, pushed message ids, messages sent)
and POST /_chaos/trigger with a JSON fault,
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

GATEWAY_EPILOG = """\
Examples:
  qqgate gateway                                     # calm world, real time, port picked
  qqgate gateway --port 8080 --scenario half-open --time-scale 60
  qqgate gateway --scenario session-cycle --time-scale 600 --duration 30 --quiet
Scenarios: """ + ", ".join(sorted(SCENARIOS))

EXPORT_DESCRIPTION = (
    "Read a journal store written by a live qqgate connection. TARGET is a SQLite file "
    "(the default store) or a postgresql://user:pass@host:port/db URL. Without --list, write "
    "one session (the latest unless --session says which) as a JSON-lines journal, the "
    "portable form that `qqgate replay FILE.jsonl` checks against the current core. Secrets "
    "never reach a store, so the export holds none. Exit status: 0 on success, 2 when the "
    "store cannot be read, the session does not exist or the output cannot be written.")


# -- each subcommand: what it calls, then its arguments -------------------------------------
def _path_error(command: str, what: str, path: object, problem: str) -> int:
    """One line on standard error, exit status 2: a path that cannot be used, before any work."""
    sys.stderr.write(f"qqgate {command}: {what}{path}: {problem}\n")
    return 2


def _simulate(args: argparse.Namespace) -> int:
    from qqgate.replay._subcommands import simulate
    for option, path in (("--journal ", args.journal), ("--log ", args.log)):
        if path is not None and (problem := output_problem(path)) is not None:
            return _path_error("simulate", option, path, problem)
    return simulate(args.scenario, args.client, seed=args.seed, hours=args.hours,
                    legacy_version=args.legacy_version, journal=args.journal, log=args.log, out=sys.stdout,
                    html=args.html, png=args.png, err=sys.stderr)


def _add_pictures(p: argparse.ArgumentParser) -> None:
    """``--html`` and ``--png``: the run's timeline as a page and as a picture."""
    p.add_argument("--html", type=types.output_file, default=None, metavar="FILE.html",
                   help="write the run's timeline: one self-contained HTML page (lanes per client, "
                        "zoom and pan, hover for each step); opens from disk, fetches nothing")
    p.add_argument("--png", type=types.output_file, default=None, metavar="FILE.png",
                   help="write the same timeline as a static picture (.png; .svg or .pdf by suffix); "
                        "needs matplotlib (pip install 'qqgate[png]')")


def _add_simulate(sub: Subparsers) -> None:
    """Add ``qqgate simulate``: its arguments, and ``_simulate`` to run it."""
    p = sub.add_parser("simulate", help="run a named scenario against the core or the legacy model",
                       description="Run SCENARIO on a virtual clock against the qqgate core or the "
                                   "legacy hermes adapter model, print its log, figures, findings "
                                   "and verdict. The same seed gives byte-identical output.")
    p.add_argument("scenario", choices=sorted(SCENARIOS), metavar="SCENARIO",
                   help="one of: " + ", ".join(sorted(SCENARIOS)))
    p.add_argument("--client", choices=("core", "legacy"), default="core",
                   help="which reducer to run (default: core)")
    p.add_argument("--seed", type=types.seed, default=1, help="seed of the whole world (default: 1)")
    p.add_argument("--hours", type=types.simulated_hours, default=None,
                   help="simulated hours (default: the scenario's own)")
    p.add_argument("--legacy-version", choices=("0.13", "0.14"), default=None,
                   help="legacy adapter version (default: the one that had the incident)")
    p.add_argument("--journal", type=Path, default=None, metavar="FILE.jsonl",
                   help="write every step (input, commands) as JSON lines")
    p.add_argument("--log", type=Path, default=None, metavar="FILE.log",
                   help="write the client's whole log (hermes format for the legacy model)")
    _add_pictures(p)
    p.set_defaults(func=_simulate)


def _replay(args: argparse.Namespace) -> int:
    from qqgate.replay._inputs import InputKind, open_input
    from qqgate.replay._subcommands import pictures, replay_file, replay_journal_data
    target = str(args.file)
    opened = open_input(target)
    opened.close()  # only what it is is needed here; replay_file opens it again to stream it
    if opened.what.kind is InputKind.REFUSED:
        return _path_error("replay", "", target, opened.what.reason)
    draw = pictures("replay", args.html, args.png, sys.stdout, sys.stderr)
    if opened.what.kind is InputKind.STORE:
        from qqgate.io_shell.journal import JournalStoreError, journal_bytes
        try:
            data = journal_bytes(target, args.session)
        except JournalStoreError as exc:
            sys.stderr.write(f"qqgate replay: {exc}\n")
            return 2
        return replay_journal_data(target, data, out=sys.stdout, err=sys.stderr, draw=draw)
    if args.session is not None:
        sys.stderr.write("qqgate replay: --session only applies to a journal store\n")
        return 2
    return replay_file(target, seed=args.seed, hours=args.hours, out=sys.stdout, err=sys.stderr, draw=draw,
                       date=args.date, until=args.until)


def _add_replay(sub: Subparsers) -> None:
    """Add ``qqgate replay``: its arguments, and ``_replay`` to run it."""
    p = sub.add_parser("replay", help="replay a journal (.jsonl) or a real hermes log (.log)",
                       description="FILE.jsonl: feed the recorded inputs through the current reducer "
                                   "and check the commands are identical (exit 1 at the first "
                                   "divergence); a journal store (SQLite file or postgresql:// URL, "
                                   "see --session) is replayed the same way. Any other file: read it "
                                   "as a hermes-agent text log, "
                                   "name the incident, derive the world behind it and run that world "
                                   "against the legacy model and the core, side by side.")
    p.add_argument("file", metavar="FILE",
                   help="a .jsonl journal, a SQLite journal store, a postgresql:// URL, or a text log")
    p.add_argument("--session", default=None, metavar="ID",
                   help="with a journal store: the session to replay (default: the latest; a unique "
                        "prefix is enough; list them with 'qqgate export STORE --list')")
    p.add_argument("--seed", type=types.seed, default=1, help="seed for the derived world (logs only)")
    p.add_argument("--hours", type=types.simulated_hours, default=None,
                   help="simulated hours of the derived world (logs only; default: 2, or longer "
                        "when the log's outage needs it)")
    p.add_argument("--date", type=types.log_date, default=None, metavar="YYYY-MM-DD",
                   help="logs only: the day the log was written, when its lines carry no date "
                        "(dates bare times, and the client's version: hermes changed behaviour in May 2026)")
    p.add_argument("--until", type=types.until, default=None, metavar="TIME",
                   help="logs only: the process ran on, logging nothing more, until TIME: +DURATION "
                        "after the last line (+1h, +90m, +3600) or a time of the log's clock "
                        "(18:01, 2026-05-04 18:01). A silence is evidence only when something "
                        "shows time passing: another component's lines, a note, or this")
    _add_pictures(p)
    p.set_defaults(func=_replay)


def _timeline(args: argparse.Namespace) -> int:
    from qqgate.io_shell.journal import JournalStoreError, journal_bytes, looks_like_store
    from qqgate.replay._subcommands import timeline
    target = str(args.target)
    if looks_like_store(target):
        try:
            data = journal_bytes(target, args.session)
        except JournalStoreError as exc:
            sys.stderr.write(f"qqgate timeline: {exc}\n")
            return 2
    elif args.session is not None:
        sys.stderr.write("qqgate timeline: --session only applies to a journal store\n")
        return 2
    else:
        try:
            data = Path(target).read_bytes()
        except OSError as exc:
            sys.stderr.write(f"qqgate timeline: cannot read {target}: {exc.strerror or exc}\n")
            return 2
    return timeline(target, data, limit=args.limit, out=sys.stdout, err=sys.stderr)


def _add_timeline(sub: Subparsers) -> None:
    """Add ``qqgate timeline``: its arguments, and ``_timeline`` to run it."""
    p = sub.add_parser("timeline", help="print a journal's timeline: wall-clock times, routine folded",
                       description="Print the life of one journaled session in the terminal: phase changes, "
                                   "connects, closes with their codes, Identify/Resume, op 7/op 9, zombies, "
                                   "failures and Fatal, one line each, with wall-clock times (UTC) when the "
                                   "journal's header anchors them; runs of heartbeats, ACKs and delivered "
                                   "dispatches are folded into one line with their counts. Colours on a "
                                   "terminal only. Exit status 0, or 2 when the journal cannot be read.",
                       epilog="Examples: qqgate timeline qqgate-journal.sqlite | qqgate timeline run.jsonl "
                              "--limit 0 | qqgate timeline postgresql://bot:pw@db/qqgate --session 3f2a")
    p.add_argument("target", metavar="STORE|JOURNAL",
                   help="a journal store (SQLite file or postgresql:// URL) or a .jsonl journal")
    p.add_argument("--session", default=None, metavar="ID",
                   help="with a journal store: the session (default: the latest; a unique prefix is enough)")
    p.add_argument("--limit", type=types.non_negative_int, default=1000, metavar="N",
                   help="print at most N lines per client, then say how many were left (0: all; default 1000)")
    p.set_defaults(func=_timeline)


def _incidents(args: argparse.Namespace) -> int:
    from qqgate.replay._subcommands import incidents
    return incidents(run=args.run, seed=args.seed, hours=args.hours, out=sys.stdout)


def _add_incidents(sub: Subparsers) -> None:
    """Add ``qqgate incidents``: its arguments, and ``_incidents`` to run it."""
    p = sub.add_parser("incidents", help="list the scenarios, or run them all for both clients",
                       description="Without --run, list the scenarios. With --run, simulate each "
                                   "one for the legacy model and the core and print a table; exit 1 "
                                   "if any legacy run fails to show its incident or any core run fails.")
    p.add_argument("--run", action="store_true", help="run every scenario for both clients")
    p.add_argument("--seed", type=types.seed, default=1)
    p.add_argument("--hours", type=types.simulated_hours, default=None,
                   help="override every scenario's duration (hours)")
    p.set_defaults(func=_incidents)


def _soak(args: argparse.Namespace) -> int:
    from qqgate.replay.checks._soak_command import soak
    return soak(first_seed=args.first_seed, seeds=args.seeds, hours=args.hours, jobs=args.jobs,
                verbose=args.verbose, out=sys.stdout, html=args.html)


def _add_soak(sub: Subparsers) -> None:
    """Add ``qqgate soak``: its arguments, and ``_soak`` to run it."""
    p = sub.add_parser(
        "soak", help="run the core against many random fault worlds (the swarm soak)",
        description="For each seed, draw fault rates and a fault schedule (every close-code class, op 7, "
                    "op 9, half-open links, DNS outages, refused and stalled connects, rejected resumes, "
                    "lost and late ACKs, duplicate dispatches, late ticks), run the core with its invariants "
                    "checked after every step, then stop the faults and require READY within "
                    f"{LIVENESS_BOUND_S:.0f} s (judged from the server's side). Reports invariant breaks, "
                    "liveness, lost and doubled messages, and seeds per second. A failing seed prints the "
                    "command that replays it and writes its timeline. A progress bar on a terminal; Ctrl-C "
                    "reports the seeds done so far (exit 130). Exit 1 if any seed fails.")
    p.add_argument("--seeds", type=types.positive_int, default=100, help="how many seeds (default 100)")
    p.add_argument("--first-seed", type=types.positive_int, default=1, help="the first seed (default 1)")
    p.add_argument("--hours", type=types.soak_hours, default=6.0,
                   help="simulated hours of faults per seed (default 6)")
    p.add_argument("--jobs", type=types.positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--verbose", action="store_true", help="print every seed's fault schedule and result")
    p.add_argument("--html", type=types.output_file, default=None, metavar="FILE.html",
                   help="write the timeline page of the first failing seed (with --seeds 1: of that seed)")
    p.set_defaults(func=_soak)


def _fuzz(args: argparse.Namespace) -> int:
    from qqgate.replay.checks._fuzz_command import fuzz
    return fuzz(frames=args.frames, seed=args.seed, samples=args.samples, out=sys.stdout, err=sys.stderr)


def _add_fuzz(sub: Subparsers) -> None:
    """Add ``qqgate fuzz``: its arguments, and ``_fuzz`` to run it."""
    p = sub.add_parser("fuzz", help="feed random and mutated frames to the core, corrupt lines to the readers",
                       description="Feed FRAMES random or mutated frames (bad JSON, wrong types, huge payloads, "
                                   "deep nesting, binary, unknown opcodes, s going backwards, stale connections) "
                                   "to the core in every connected phase, then corrupt lines of a real journal "
                                   "and of the real logs in logs_samples/ (outside the checkout: a corpus built "
                                   "in, from simulated runs; the report names it). No exception may escape and no "
                                   "invariant may break; every rejection is counted. Exit 1 otherwise, 2 when "
                                   "--samples holds no journal or no log, 130 after Ctrl-C (counts so far).")
    p.add_argument("--frames", type=types.positive_int, default=100_000,
                   help="frames to feed (default 100000; full: 1000000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--samples", type=Path, default=None, metavar="DIR",
                   help="a folder holding a journal (*.core.jsonl) and logs (*.log) (default: logs_samples/ "
                        "when it is here, else the built-in corpus)")
    p.set_defaults(func=_fuzz)


def _crash_test(args: argparse.Namespace) -> int:
    from qqgate.replay.checks._crash_command import crash_test
    return crash_test(runs=args.runs, store=args.store, seed=args.seed, out=sys.stdout, err=sys.stderr)


def _add_crash_test(sub: Subparsers) -> None:
    """Add ``qqgate crash-test``: its arguments, and ``_crash_test`` to run it."""
    p = sub.add_parser("crash-test", help="kill journal writers with SIGKILL, then replay every journal",
                       description="Start RUNS journal writers one after another (each records a real "
                                   "simulated session into the same store), kill each with SIGKILL after a "
                                   "random delay, then open the store and replay every session through the "
                                   "current core. Exit 1 if the store does not open, a session does not "
                                   "replay to identical commands, or a session is missing; 2 when --store "
                                   "cannot be opened or created (checked before any writer starts); 130 "
                                   "after Ctrl-C (the runs so far reported).")
    p.add_argument("--runs", type=types.crash_runs, default=100, help="writers to kill (default 100)")
    p.add_argument("--store", default=None, metavar="PATH_OR_URL",
                   help="SQLite path or postgresql:// URL (default: a new SQLite file in a temporary folder)")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_crash_test)


GATEWAY_EXTRA_MISSING = (
    "qqgate gateway: the chaos gateway needs the server-side packages of the 'gateway' extra ({missing}); "
    "install them with: pip install 'qqgate[gateway]'\n")


def _gateway_extra_missing() -> str | None:
    """The names of the chaos gateway's server-only packages (wsproto, h11) that are not installed."""
    import importlib
    missing = []
    for name in ("wsproto", "h11"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return ", ".join(missing) or None


def _gateway(args: argparse.Namespace) -> int:
    missing = _gateway_extra_missing()
    if missing is not None:
        sys.stderr.write(GATEWAY_EXTRA_MISSING.format(missing=missing))
        return 2
    if args.webhook is not None:
        from qqgate.replay._webhook_command import serve_webhook
        from qqgate.replay.world.gateway import WebhookFaults, WebhookSpec
        try:
            spec = WebhookSpec(args.webhook, app_id=os.environ.get("QQ_APP_ID", "").strip() or "102000000",
                               messages=args.webhook_messages or None, interval_s=args.webhook_interval,
                               faults=WebhookFaults(**dict(args.webhook_fault or [])), seed=args.seed)
            spec.validate_spec()
        except ValueError as exc:
            sys.stderr.write(f"qqgate gateway: {exc}\n")
            return 2
        return serve_webhook(spec, port=args.port, duration_s=args.duration, quiet=args.quiet)
    from qqgate.replay._gateway_command import build_world, serve
    world = build_world(args.scenario, message_interval_s=args.message_interval,
                        duplicate_probability=args.duplicate_probability, session_cycle_s=args.session_cycle,
                        heartbeat_timeout_s=args.heartbeat_timeout)
    return serve(world, scenario=args.scenario, port=args.port, time_scale=args.time_scale,
                 duration_s=args.duration, seed=args.seed, quiet=args.quiet)


def _add_gateway(sub: Subparsers) -> None:
    """Add ``qqgate gateway``: its arguments, and ``_gateway`` to run it."""
    p = sub.add_parser(
        "gateway", help="run the chaos gateway (a real QQ gateway with scripted faults) on 127.0.0.1",
        description=GATEWAY_DESCRIPTION, epilog=GATEWAY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=types.port, default=0, help="TCP port on 127.0.0.1 (default 0: any free port)")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default=None, metavar="NAME",
                   help="play this scenario's world and faults (default: a calm world with messages)")
    p.add_argument("--time-scale", type=types.positive, default=1.0, metavar="X",
                   help="divide every server-side duration by X, the Hello interval included (default 1)")
    p.add_argument("--duration", type=types.positive, default=None, metavar="S",
                   help="stop after S wall-clock seconds (default: run until Ctrl-C or SIGTERM)")
    p.add_argument("--seed", type=int, default=1, help="seed of the model's randomness (default 1)")
    p.add_argument("--message-interval", type=types.non_negative, default=None, metavar="S",
                   help="mean model seconds between C2C message dispatches; 0: none (default: the world's)")
    p.add_argument("--duplicate-probability", type=types.probability, default=None, metavar="P",
                   help="chance each message dispatch is pushed twice with the same d.id (default: the world's)")
    p.add_argument("--session-cycle", type=types.non_negative, default=None, metavar="S",
                   help="model seconds before op 7 + 4009 on a connection; 0: never (default: the world's, 1800)")
    p.add_argument("--heartbeat-timeout", type=types.positive, default=None, metavar="S",
                   help="model seconds of client silence before the server drops the connection "
                        "(default: the world's, 60; raise it for clients with a fixed heartbeat, like botpy's 30 s)")
    p.add_argument("--quiet", action="store_true", help="print only the listening line and the summary")
    p.add_argument("--webhook", default=None, metavar="URL",
                   help="webhook mode: validate URL with op 13, then POST the events there as signed HTTP "
                        "callbacks (secret from QQ_CLIENT_SECRET), retried up to 3 times with the same id")
    p.add_argument("--webhook-messages", type=types.non_negative_int, default=100, metavar="N",
                   help="webhook mode: events to post, then stop and judge (0: until stopped; default 100)")
    p.add_argument("--webhook-interval", type=types.non_negative, default=0.2, metavar="S",
                   help="webhook mode: mean wall seconds between events (default 0.2)")
    p.add_argument("--webhook-fault", type=types.webhook_fault, action="append", metavar="NAME=P",
                   help="webhook mode: inject a fault into a share P of the events; NAME is bad_signature, "
                        "stale_timestamp, duplicate, out_of_order or late_answer (repeatable)")
    p.set_defaults(func=_gateway)


def _run(args: argparse.Namespace) -> int:
    from qqgate.io_shell._run_command import run
    if args.log_format == "json":  # before run() configures logging: its basicConfig then keeps this
        import logging

        from qqgate.io_shell._jsonlog import json_handler
        logging.basicConfig(level=getattr(logging, args.log_level.upper()), handlers=[json_handler(sys.stderr)])
    return run(sandbox=args.sandbox, api_base=args.api_base, token_url=args.token_url, insecure=args.insecure,
               journal=args.journal, no_journal=args.no_journal, intents=args.intents,
               duration_s=args.duration, seed=args.seed, log_level=args.log_level,
               transport=args.transport, listen=args.listen, timestamp_window_s=args.timestamp_window)


def _add_run(sub: Subparsers) -> None:
    """Add ``qqgate run``: its arguments, and ``_run`` to run it."""
    p = sub.add_parser(
        "run", help="connect a bot to the QQ gateway and print status changes and dispatches",
        description="Connect to the QQ Bot gateway with the qqgate core (credentials from "
                    "QQ_APP_ID and QQ_CLIENT_SECRET), print one line per status change, dispatch "
                    "and fatal condition, and journal every step. Ctrl-C stops cleanly.",
        epilog="Examples: QQ_APP_ID=102000000 QQ_CLIENT_SECRET=... qqgate run --sandbox --duration 600 | "
               "QQ_APP_ID=... QQ_CLIENT_SECRET=... qqgate run --transport webhook --listen 127.0.0.1:8443")
    p.add_argument("--transport", choices=("websocket", "webhook"), default="websocket",
                   help="websocket: connect to the gateway (default); webhook: receive QQ's HTTP callbacks "
                        "on --listen (plain HTTP: put a TLS reverse proxy on port 80, 443, 8080 or 8443 in front)")
    p.add_argument("--listen", type=types.listen_address, default=None, metavar="HOST:PORT",
                   help="with --transport webhook: the address to receive callbacks on (default 127.0.0.1:8443)")
    p.add_argument("--timestamp-window", type=types.seconds, default=None, metavar="S",
                   help="with --transport webhook: refuse callbacks signed more than S seconds from this "
                        "host's clock (a replay guard; default 300)")
    p.add_argument("--sandbox", action="store_true",
                   help="use the sandbox API base (https://sandbox.api.sgroup.qq.com)")
    p.add_argument("--api-base", metavar="URL", default=None,
                   help="OpenAPI base URL (default https://api.sgroup.qq.com)")
    p.add_argument("--token-url", metavar="URL", default=None,
                   help="access-token URL (default https://bots.qq.com/app/getAppAccessToken)")
    p.add_argument("--insecure", action="store_true",
                   help="do NOT verify TLS certificates, and allow cleartext http:// and ws:// endpoints "
                        "off this machine (testing only; logged as a warning). Without it a ws:// gateway "
                        "URL to another host is a final FATAL: the token would travel unencrypted")
    p.add_argument("--journal", metavar="PATH_OR_URL", default=None,
                   help=f"journal target: a SQLite path or a postgresql:// URL (default {DEFAULT_JOURNAL})")
    p.add_argument("--no-journal", action="store_true", help="do not journal the run")
    p.add_argument("--intents", type=types.intents, default=None,
                   metavar="INTENTS",
                   help="Identify intents: names joined by | (quote them in a shell) or an integer, e.g. "
                        "'GROUP_AND_C2C_EVENT|INTERACTION' or 0x6000000 (default "
                        "GROUP_AND_C2C_EVENT|PUBLIC_GUILD_MESSAGES; names: qqgate.Intents)")
    p.add_argument("--duration", type=types.seconds, default=None, metavar="S",
                   help="stop after S seconds (default: run until Ctrl-C)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the core's jitter (default: random; recorded in the journal)")
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"),
                   help="level of the log on stderr (default warning)")
    p.add_argument("--log-format", default="text", choices=("text", "json"),
                   help="the log on stderr as text lines (default) or one JSON object per record, with "
                        "the core's event name, its fields and the bot's app id (README, Embedding)")
    p.set_defaults(func=_run)


def _export(args: argparse.Namespace) -> int:
    from qqgate.io_shell.journal._export_command import export
    from qqgate.replay._inputs import InputKind, open_input
    target = str(args.target)
    if not target.startswith(("postgresql://", "postgres://")):
        path = target[len("sqlite:"):] if target.startswith("sqlite:") else target
        opened = open_input(path[2:] if target.startswith("sqlite://") else path)
        opened.close()
        if opened.what.kind is InputKind.REFUSED:
            reason = opened.what.reason
            if reason == "no such file":
                reason = "no such journal store (file not found)"
            return _path_error("export", "", target, reason)
        if opened.what.kind is not InputKind.STORE:
            kind = "not a SQLite journal store: a JSON-lines journal (replay it with: qqgate replay FILE)" \
                if opened.what.kind is InputKind.JOURNAL else "not a SQLite journal store: a text file"
            return _path_error("export", "", target, kind)
    if args.out is not None and (problem := output_problem(args.out)) is not None:
        return _path_error("export", "--out ", args.out, problem)
    return export(str(args.target), session=args.session, out=args.out, list_only=args.list)


def _add_export(sub: Subparsers) -> None:
    """Add ``qqgate export``: its arguments, and ``_export`` to run it."""
    p = sub.add_parser(
        "export", help="list or export the sessions of a journal store (SQLite or PostgreSQL)",
        description=EXPORT_DESCRIPTION,
        epilog="Examples: qqgate export journal.db --list | qqgate export journal.db --out last.jsonl "
               "&& qqgate replay last.jsonl | qqgate export postgresql://bot:pw@db:5432/qqgate "
               "--session 3f2a --out s.jsonl")
    p.add_argument("target", metavar="TARGET", help="the journal store: a SQLite file path or a postgresql:// URL")
    p.add_argument("--session", metavar="ID", default=None,
                   help="the session to export: its id or a unique prefix (default: the latest)")
    p.add_argument("--out", metavar="FILE.jsonl", type=Path, default=None,
                   help="write the journal to this file (default: standard output)")
    p.add_argument("--list", action="store_true",
                   help="list the sessions (id, steps, start time, client, seed) instead of exporting")
    p.set_defaults(func=_export)


# -- the command line -------------------------------------------------------------------------
def _version() -> str:
    """The installed distribution's version (its metadata), else the package's ``__version__``."""
    from importlib import metadata

    import qqgate
    try:
        return metadata.version("qqgate")
    except metadata.PackageNotFoundError:
        return qqgate.__version__


def build_parser() -> argparse.ArgumentParser:
    """The ``qqgate`` parser: every subcommand, each with ``func`` set to what it calls."""
    parser = argparse.ArgumentParser(
        prog="qqgate",
        description="qqgate: a QQ Bot gateway connection core that cannot silently die, spin or "
                    "lose a dispatch, and the tools to replay and simulate its production incidents.",
        epilog="Examples: qqgate replay logs_samples/death-loop.log | qqgate simulate half-open "
               "--client core | qqgate incidents")
    parser.add_argument("--version", action="version", version=f"qqgate {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in (_add_simulate, _add_replay, _add_timeline, _add_incidents, _add_soak, _add_fuzz, _add_crash_test,
                _add_gateway, _add_run, _add_export):  # the order of qqgate --help
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qqgate`` console script; returns the exit status.

    A standard output closed early (``qqgate export ... | head``) ends the command quietly with 0.
    Ctrl-C ends any command with 130 and one line on standard error, never a traceback; the long
    ones (soak, fuzz, crash-test, incidents --run) first print what they found so far.
    """
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
        return status
    except KeyboardInterrupt:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        sys.stderr.write(f"qqgate {args.command}: interrupted (Ctrl-C)\n")
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):  # a real file descriptor only
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
