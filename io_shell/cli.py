"""``qqgate run``: connect one bot to the QQ gateway and print what happens.

Credentials come from QQ_APP_ID and QQ_CLIENT_SECRET (never from the command line, so they
stay out of shell history and ``ps``). One line per status change, dispatch and Fatal on
stdout; logs on stderr. Ctrl-C (SIGINT) or SIGTERM stops cleanly: close 1000, journal
flushed. Exit status: 0 after a clean stop, 1 when the client failed for good (a fatal
close code), 2 on bad usage (missing credentials, unusable journal target).

This module imports nothing heavy at import time: ``run`` monkey-patches with gevent
first, then imports the shell (requests, websocket-client, ssl).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from typing import Any

DEFAULT_JOURNAL = "./qqgate-journal.sqlite"


def _intents(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"intents must be an integer (e.g. 33554432 or 0x2000000), got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("intents must be >= 0")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0 seconds")
    return value


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand to ``qqgate``'s subparsers (called by replay.cli)."""
    p = subparsers.add_parser(
        "run", help="connect a bot to the QQ gateway and print status changes and dispatches",
        description="Connect to the QQ Bot gateway with the qqgate core (credentials from "
                    "QQ_APP_ID and QQ_CLIENT_SECRET), print one line per status change, dispatch "
                    "and fatal condition, and journal every step. Ctrl-C stops cleanly.",
        epilog="Example: QQ_APP_ID=102000000 QQ_CLIENT_SECRET=... qqgate run --sandbox --duration 600")
    p.add_argument("--sandbox", action="store_true",
                   help="use the sandbox API base (https://sandbox.api.sgroup.qq.com)")
    p.add_argument("--api-base", metavar="URL", default=None,
                   help="OpenAPI base URL (default https://api.sgroup.qq.com)")
    p.add_argument("--token-url", metavar="URL", default=None,
                   help="access-token URL (default https://bots.qq.com/app/getAppAccessToken)")
    p.add_argument("--insecure", action="store_true",
                   help="do NOT verify TLS certificates (testing only; logged as a warning)")
    p.add_argument("--journal", metavar="PATH_OR_URL", default=None,
                   help=f"journal target: a SQLite path or a postgresql:// URL (default {DEFAULT_JOURNAL})")
    p.add_argument("--no-journal", action="store_true", help="do not journal the run")
    p.add_argument("--intents", type=_intents, default=None,
                   help="Identify intents bitmask (default GROUP_AND_C2C_EVENT | PUBLIC_GUILD_MESSAGES)")
    p.add_argument("--duration", type=_seconds, default=None, metavar="S",
                   help="stop after S seconds (default: run until Ctrl-C)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the core's jitter (default: random; recorded in the journal)")
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"),
                   help="level of the log on stderr (default warning)")
    p.set_defaults(func=run)


def _stamp() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


def _say(text: str) -> None:
    print(f"{_stamp()} {text}", flush=True)


def _journal_target(args: argparse.Namespace) -> str | None:
    if args.no_journal:
        return None
    target: str = args.journal or DEFAULT_JOURNAL
    try:
        module = importlib.import_module("qqgate.io_shell.journal")
        getattr(module, "open_recorder")
    except (ImportError, AttributeError) as exc:
        print(f"qqgate run: warning: journal disabled, io_shell.journal is not available ({exc})",
              file=sys.stderr)
        return None
    return target


def run(args: argparse.Namespace) -> int:
    """Run the gateway until Ctrl-C, SIGTERM, ``--duration`` or a fatal close; return the exit status."""
    from gevent import monkey  # type: ignore[import-untyped]

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    import signal

    import gevent
    import gevent.event  # type: ignore[import-untyped]
    import orjson

    from qqgate import core

    from ._client import GatewayClient
    from ._config import DEFAULT_API_BASE, DEFAULT_TOKEN_URL, SANDBOX_API_BASE, ShellConfig, ShellConfigError

    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    core_fields: dict[str, Any] = {"seed": seed}
    if args.intents is not None:
        core_fields["intents"] = args.intents
    try:
        config = ShellConfig.from_env(
            api_base=args.api_base or (SANDBOX_API_BASE if args.sandbox else DEFAULT_API_BASE),
            token_url=args.token_url or DEFAULT_TOKEN_URL, verify_tls=not args.insecure,
            core=core.Config(**core_fields), journal=_journal_target(args))
    except (ShellConfigError, core.ConfigError) as exc:
        print(f"qqgate run: {exc}", file=sys.stderr)
        return 2

    done: Any = gevent.event.Event()
    failed: list[core.Fatal] = []

    def on_status(change: core.StatusChanged) -> None:
        _say(f"status {change.phase.value}: {change.detail}")

    def on_fatal(fatal: core.Fatal) -> None:
        code = f" (close {fatal.close_code})" if fatal.close_code is not None else ""
        _say(f"FATAL {'retryable' if fatal.retryable else 'final'}{code}: {fatal.reason}")
        if not fatal.retryable:
            failed.append(fatal)
            done.set()

    def on_dispatch(dispatch: core.Dispatch) -> None:
        body = orjson.dumps(dispatch.data).decode("utf-8", "replace")
        if len(body) > 300:
            body = body[:297] + "..."
        _say(f"dispatch s={dispatch.seq} {dispatch.event_type} id={dispatch.event_id}: {body}")

    client = GatewayClient(config, on_dispatch=on_dispatch, on_fatal=on_fatal, on_status=on_status)
    handlers = [gevent.signal_handler(sig, done.set) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        try:
            client.start()
        except Exception as exc:  # noqa: BLE001 - an unusable journal target is a usage error
            print(f"qqgate run: cannot start: {exc}", file=sys.stderr)
            return 2
        if client.journal_session_id is not None:
            _say(f"journal {config.journal} session {client.journal_session_id}")
        done.wait(timeout=args.duration)
        clean = client.stop()
    finally:
        for handler in handlers:
            handler.cancel()
    status = client.status()
    counters = status.counters
    _say(f"stopped: phase={status.phase} dispatches={counters.get('dispatches_delivered', 0)} "
         f"heartbeats={counters.get('heartbeats_sent', 0)} acks={counters.get('heartbeat_acks', 0)} "
         f"reconnects={max(0, counters.get('sockets_opened', 0) - 1)} "
         f"handler_errors={counters.get('handler_errors', 0)}" + ("" if clean else " (driver killed)"))
    return 1 if failed else 0
