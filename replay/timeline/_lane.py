"""One client's lane, read off its steps: (input, commands) as a journal holds them.

The same reading serves a simulated run (its journal, in memory) and a journal file or store,
so a lane looks the same whichever source it came from. Phases come from the client's own
``StatusChanged`` commands; a client that reports none (the legacy model) gets phases read off
its socket events instead, and the lane says so. Frames are decoded here only to be named
(op 1, op 11, READY ...): the reducer already judged them.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, Sequence

import orjson

from qqgate import core
from qqgate.core.journal import Journal, Redactor, decode_input, encode_input, step_record

from ._model import Band, Lane, Mark, MarkKind

K = MarkKind
P = core.Phase

StepView = tuple[Any, Sequence[Mapping[str, Any]], bytes]
"""A step as a lane reads it: the input (a core input; a journal may also hold the webhook
reducer's, which a lane shows only in the hover), its commands as journal records (dicts,
secrets redacted), and the whole step's journal record text (what a hover shows)."""

_READY_TYPES = frozenset({"READY", "RESUMED"})


def steps_of_run(journal: Iterable[tuple[core.Input, tuple[core.Command, ...]]]) -> Iterator[StepView]:
    """A simulated run's in-memory journal as step views, redacted as its journal file would be
    (the input too is read back from its redacted record, so no label can carry a token)."""
    redactor = Redactor()
    for i, (inp, commands) in enumerate(journal, start=1):
        record = step_record(i, inp, commands, redactor)
        yield decode_input(record["input"]), record["commands"], orjson.dumps(record)


def steps_of_journal(journal: Journal) -> Iterator[StepView]:
    """A read journal's steps as step views (already redacted by whoever wrote them)."""
    for i, (_, inp, commands) in enumerate(journal.steps, start=1):
        record = {"type": "step", "i": i, "input": encode_input(inp), "commands": commands}
        yield inp, commands, orjson.dumps(record)


def _frame(text: Any) -> dict[str, Any] | None:
    """A frame's JSON object, or None for anything that is not one (the reducer rejected it)."""
    if not isinstance(text, (str, bytes)) or len(text) > 65536:
        return None
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _close_text(code: Any, reason: Any) -> str:
    if code is None:
        return "no close code (the connection dropped)"
    return f"{code} {reason}".rstrip() if reason else str(code)


class _Reader:
    """Walks the steps once, collecting marks and both kinds of phase changes."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.marks: list[Mark] = []
        self.reported: list[tuple[float, str, str]] = []
        self.derived: list[tuple[float, str, str]] = []
        self.steps: list[bytes] = []
        self.live: int | None = None
        self.backoff_s: float | None = None
        self.keys: set[str] = set()
        self.last_at = 0.0

    def mark(self, at: float, kind: MarkKind, label: str, tag: str = "") -> None:
        self.marks.append(Mark(at, kind, label, len(self.steps) - 1, tag))

    def derive(self, at: float, phase: P, detail: str) -> None:
        if not self.derived or self.derived[-1][1] != phase.value:
            self.derived.append((at, phase.value, detail))

    def read(self, step: StepView) -> None:
        inp, commands, text = step
        self.steps.append(text)
        at = inp.at - self.t0
        self.last_at = max(self.last_at, at)
        self._input(at, inp)
        for command in commands:
            self._command(at, command)

    def _input(self, at: float, inp: Any) -> None:
        match inp:
            case core.Start():
                self.derive(at, P.RESOLVING, "started")
            case core.Stop():
                self.derive(at, P.STOPPED, "stopped by the host")
            case core.FrameReceived(conn=conn, text=text):
                self._frame_in(at, conn, text)
            case core.SocketClosed(conn=conn, code=code, reason=reason):
                stale = "" if conn == self.live else " (an earlier connection)"
                self.mark(at, K.SERVER_CLOSE, f"connection {conn} closed: {_close_text(code, reason)}{stale}",
                          "-" if code is None else str(code))
                if conn == self.live:
                    self.live = None
                    self.derive(at, P.BACKING_OFF, f"disconnected ({_close_text(code, reason)})")
            case core.ConnectFailed(conn=conn, error=error):
                self.mark(at, K.CONNECT_FAILED, f"connection {conn} failed to open: {error}")
                if conn == self.live:
                    self.live = None
                    self.derive(at, P.BACKING_OFF, "connect failed")
            case core.SendFailed(conn=conn, error=error):
                self.mark(at, K.SERVER_CLOSE, f"connection {conn} lost (send failed: {error})")
            case core.TokenFailed(error=error):
                self.mark(at, K.REQUEST_FAILED, f"access token request failed: {error}")
            case core.GatewayFailed(error=error):
                self.mark(at, K.REQUEST_FAILED, f"gateway URL request failed: {error}")
            case _:
                pass

    def _frame_in(self, at: float, conn: int, text: Any) -> None:
        frame = _frame(text)
        if frame is None:
            return
        op = frame.get("op")
        if op == 11:
            self.mark(at, K.ACK, "heartbeat ACK (op 11)")
        elif op == 10:
            d = frame.get("d")
            interval = d.get("heartbeat_interval") if isinstance(d, dict) else None
            self.mark(at, K.HELLO, f"Hello (op 10) on connection {conn}, heartbeat_interval {interval} ms")
        elif op == 7:
            self.mark(at, K.RECONNECT, "the server asked for a reconnect (op 7)")
        elif op == 9:
            self.mark(at, K.INVALID_SESSION, f"Invalid Session (op 9), d={frame.get('d')!r}")
        elif op == 0 and frame.get("t") in _READY_TYPES:
            self.mark(at, K.READY, f"{frame.get('t')} on connection {conn}, s={frame.get('s')}")
            self.derive(at, P.READY, str(frame.get("t")))

    def _command(self, at: float, c: Mapping[str, Any]) -> None:
        kind = c.get("type")
        if kind == "SendFrame":
            frame = _frame(c.get("text"))
            op = frame.get("op") if frame else None
            if op == 1:
                self.mark(at, K.HEARTBEAT, "heartbeat (op 1)")
            elif op == 2:
                self.mark(at, K.IDENTIFY, f"Identify (op 2) on connection {c.get('conn')}")
                self.derive(at, P.IDENTIFYING, "Identify sent")
            elif op == 6:
                d = frame.get("d") if frame else None
                seq = d.get("seq") if isinstance(d, dict) else None
                self.mark(at, K.RESUME, f"Resume (op 6) on connection {c.get('conn')}, seq {seq}")
                self.derive(at, P.RESUMING, "Resume sent")
        elif kind == "OpenSocket":
            after = f" after a {self.backoff_s:g} s backoff" if self.backoff_s is not None else ""
            self.backoff_s = None
            self.live = c.get("conn")
            self.mark(at, K.OPEN, f"open connection {c.get('conn')}{after}")
            self.derive(at, P.CONNECTING, f"opening connection {c.get('conn')}")
        elif kind == "CloseSocket":
            self.mark(at, K.CLIENT_CLOSE, f"the client closed connection {c.get('conn')}: "
                                          f"{_close_text(c.get('code'), c.get('reason'))}", str(c.get("code")))
            if c.get("conn") == self.live:
                self.live = None
                self.derive(at, P.BACKING_OFF, "closed by the client")
        elif kind in ("FetchToken", "ResolveGateway") and self.live is None:
            self.derive(at, P.RESOLVING, "fetching a token" if kind == "FetchToken" else "resolving the gateway")
        elif kind == "Deliver":
            self._deliver(at, c.get("dispatch"))
        elif kind == "StatusChanged":
            self.reported.append((at, str(c.get("phase")), str(c.get("detail", ""))))
        elif kind == "Fatal":
            final = "retryable" if c.get("retryable") else "final"
            self.mark(at, K.FATAL, f"Fatal ({final}): {c.get('reason')}")
            if not c.get("retryable"):
                self.derive(at, P.FAILED, str(c.get("reason")))
        elif kind == "Log":
            self._log(at, c.get("event"), c.get("fields"))

    def _deliver(self, at: float, dispatch: Any) -> None:
        if not isinstance(dispatch, dict):
            return
        key = str(dispatch.get("dedupe_key"))
        event = dispatch.get("event_type")
        if key in self.keys:
            self.mark(at, K.DELIVERED_TWICE, f"dispatch {event} delivered again (same id {key})")
        else:
            self.keys.add(key)
            self.mark(at, K.DELIVERED, f"dispatch {event}")

    def _log(self, at: float, event: Any, fields: Any) -> None:
        f = fields if isinstance(fields, dict) else {}
        if event == "duplicate_dropped":
            self.mark(at, K.DEDUPLICATED, f"duplicate dispatch {f.get('t')} dropped (id {f.get('key')})")
        elif event == "zombie_connection":
            self.mark(at, K.ZOMBIE, f"zombie connection {f.get('conn')} noticed: silent for {f.get('silent_s')} s")
        elif event == "retry_scheduled" and isinstance(f.get("in_s"), (int, float)):
            self.backoff_s = f["in_s"]


def _bands(changes: list[tuple[float, str, str]], end_s: float) -> list[Band]:
    bands: list[Band] = []
    last = len(changes) - 1
    for n, ((at, phase, detail), following) in enumerate(zip(changes, changes[1:] + [(end_s, "", "")])):
        if following[0] > at or not bands or n == last:  # the phase it ends in, even if entered last
            bands.append(Band(at, max(at, following[0]), phase, detail))
    return bands


def read_lane(key: str, title: str, steps: Iterable[StepView], *, t0: float = 0.0,
              end_s: float | None = None) -> Lane:
    """A lane from ``steps`` in order; times become ``input.at - t0`` seconds.

    ``end_s`` (seconds from ``t0``): where the last band ends (default: the last step).
    Phase bands come from StatusChanged commands, else from socket events (``phases_derived``).
    """
    reader = _Reader(t0)
    for step in steps:
        reader.read(step)
    end = reader.last_at if end_s is None else max(end_s, reader.last_at)
    derived = not reader.reported
    lane = Lane(key, title, bands=_bands(reader.derived if derived else reader.reported, end),
                marks=reader.marks, steps=reader.steps, phases_derived=derived and bool(reader.derived))
    return lane
