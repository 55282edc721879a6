"""Test helpers for the pure core: a Driver that talks to ``core.step`` like a peer would.

Tests read like a conversation (h11's ConnectionPair style)::

    d = Driver()
    d.connect_ready(at=0.0)              # Start ... READY
    cmds = d.recv(30.0, {"op": 7})       # the server asks for a reconnect
    assert has(cmds, OpenSocket)
    assert ops(d.reconnect()) == [6]     # SocketOpened + Hello: we Resume

Every step is checked with ``core.check_step``; a broken invariant fails the test at once.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Iterable, Iterator

import orjson
import pytest

from qqgate import core
from qqgate.core import (
    Command, Config, DispatchSettled, FetchToken, FrameReceived, GatewayResolved,
    Input, OpenSocket, ResolveGateway, SendFrame, SessionStartLimit, SocketClosed, SocketOpened,
    Start, State, Tick, TokenIssued,
)

URL = "wss://api.sgroup.qq.com/websocket"
TOKEN = "access-token-1"
SESSION = "session-1"
INTERVAL_MS = 41_250
LIMIT = SessionStartLimit(total=1000, remaining=1000, reset_after_ms=86_400_000, max_concurrency=1)


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def hello_text(interval_ms: float = INTERVAL_MS) -> str:
    return dumps({"op": 10, "d": {"heartbeat_interval": interval_ms}})


def ready_text(session_id: str = SESSION, s: int = 1) -> str:
    return dumps({"op": 0, "s": s, "t": "READY", "d": {
        "version": 1, "session_id": session_id,
        "user": {"id": "1234", "username": "bot", "bot": True}, "shard": [0, 1]}})


def dispatch_text(s: int, msg_id: str | None = None, t: str = "C2C_MESSAGE_CREATE",
                  content: str = "hello") -> str:
    d: dict[str, Any] = {"author": {"user_openid": "E4F4AEA3"}, "content": content}
    if msg_id is not None:
        d["id"] = msg_id
    return dumps({"op": 0, "s": s, "t": t, "id": f"{t}:{s}", "d": d})


def of_type(commands: Iterable[Command], cls: type) -> list[Any]:
    return [c for c in commands if isinstance(c, cls)]


def frames(commands: Iterable[Command]) -> list[dict[str, Any]]:
    """The SendFrame texts among ``commands``, decoded."""
    return [orjson.loads(c.text) for c in commands if isinstance(c, SendFrame)]


def ops(commands: Iterable[Command]) -> list[int]:
    return [f["op"] for f in frames(commands)]


def has(commands: Iterable[Command], cls: type) -> bool:
    return any(isinstance(c, cls) for c in commands)


class Driver:
    """Holds a core state, feeds inputs through ``core.step`` and checks every step."""

    def __init__(self, config: Config | None = None, **fields: Any) -> None:
        self.state: State = core.initial_state(config if config is not None else Config(**fields))
        self.history: list[tuple[Input, tuple[Command, ...]]] = []
        self.timeline: list[tuple[float, Command]] = []

    # -- reading the state -------------------------------------------------------------
    @property
    def phase(self) -> core.Phase:
        return self.state.phase

    @property
    def conn(self) -> int | None:
        return self.state.live_conn

    @property
    def now(self) -> float:
        return self.state.now

    @property
    def session_id(self) -> str | None:
        return None if self.state.session is None else self.state.session.id

    @property
    def last_seq(self) -> int | None:
        return None if self.state.session is None else self.state.session.last_seq

    @property
    def settled_seq(self) -> int | None:
        return None if self.state.session is None else self.state.session.settled_seq

    @property
    def epoch(self) -> int:
        """The current session's epoch (0: no session)."""
        return 0 if self.state.session is None else self.state.session.epoch

    @property
    def heartbeat_interval_s(self) -> float | None:
        return None if self.state.conn is None else self.state.conn.heartbeat_interval_s

    @property
    def counters(self) -> core.Counters:
        return self.state.counters

    @property
    def deadline(self) -> float | None:
        return core.next_deadline(self.state)

    def commands(self) -> list[Command]:
        return [c for _, c in self.timeline]

    def frames_sent(self, commands: Iterable[Command] | None = None) -> list[dict[str, Any]]:
        """Decoded SendFrame texts (of ``commands``, or of the whole run)."""
        return frames(self.commands() if commands is None else commands)

    def times_of(self, cls: type, pred: Callable[[Any], bool] = lambda c: True) -> list[float]:
        """When each command of type ``cls`` (matching ``pred``) was emitted."""
        return [at for at, c in self.timeline if isinstance(c, cls) and pred(c)]

    # -- feeding -----------------------------------------------------------------------
    def feed(self, inp: Input) -> tuple[Command, ...]:
        before = self.state
        after, commands = core.step(before, inp)
        bad = core.check_step(before, inp, after, commands)
        if bad:
            pytest.fail(f"invariants broken by {inp!r}: {bad}\ncommands: {commands!r}")
        assert isinstance(commands, tuple)
        self.state = after
        self.history.append((inp, commands))
        self.timeline.extend((after.now, c) for c in commands)
        return commands

    def start(self, at: float) -> tuple[Command, ...]:
        return self.feed(Start(at))

    def token(self, at: float, token: str = TOKEN, expires_in_s: float = 7200.0) -> tuple[Command, ...]:
        return self.feed(TokenIssued(at, token, expires_in_s))

    def gateway(self, at: float, url: str = URL,
                limit: SessionStartLimit | None = LIMIT) -> tuple[Command, ...]:
        return self.feed(GatewayResolved(at, url, limit))

    def opened(self, at: float, conn: int | None = None) -> tuple[Command, ...]:
        return self.feed(SocketOpened(at, self._conn(conn)))

    def recv(self, at: float, payload: Any, conn: int | None = None) -> tuple[Command, ...]:
        """A frame on ``conn`` (default: the live one); dicts are JSON-encoded, str/bytes sent raw."""
        text = payload if isinstance(payload, (str, bytes)) else dumps(payload)
        return self.feed(FrameReceived(at, self._conn(conn), text))

    def hello(self, at: float, interval_ms: float = INTERVAL_MS) -> tuple[Command, ...]:
        return self.recv(at, hello_text(interval_ms))

    def ready(self, at: float, session_id: str = SESSION, s: int = 1) -> tuple[Command, ...]:
        return self.recv(at, ready_text(session_id, s))

    def resumed(self, at: float, s: int = 0) -> tuple[Command, ...]:
        return self.recv(at, {"op": 0, "s": s, "t": "RESUMED", "d": ""})

    def dispatch(self, at: float, s: int, msg_id: str | None = None, **kw: Any) -> tuple[Command, ...]:
        return self.recv(at, dispatch_text(s, msg_id, **kw))

    def ack(self, at: float) -> tuple[Command, ...]:
        return self.recv(at, {"op": 11})

    def closed(self, at: float, code: int | None, reason: str = "",
               conn: int | None = None) -> tuple[Command, ...]:
        return self.feed(SocketClosed(at, self._conn(conn), code, reason))

    def settle(self, at: float, seq: int, epoch: int | None = None) -> tuple[Command, ...]:
        """The host's handler returned for ``seq`` of session ``epoch`` (default: the current one)."""
        return self.feed(DispatchSettled(at, seq, self.epoch if epoch is None else epoch))

    def tick(self, at: float | None = None) -> tuple[Command, ...]:
        """A Tick at ``at`` (default: exactly at ``next_deadline``)."""
        if at is None:
            assert self.deadline is not None, f"no deadline in phase {self.phase}"
            at = self.deadline
        return self.feed(Tick(at))

    def _conn(self, conn: int | None) -> int:
        if conn is not None:
            return conn
        assert self.conn is not None, f"no live connection in phase {self.phase}"
        return self.conn

    # -- scripts -----------------------------------------------------------------------
    def connect_ready(self, at: float = 0.0, interval_ms: float = INTERVAL_MS,
                      session_id: str = SESSION, limit: SessionStartLimit | None = LIMIT
                      ) -> tuple[Command, ...]:
        """Start → TokenIssued → GatewayResolved → SocketOpened → Hello → READY, all at ``at``."""
        out: list[Command] = []
        out += self.start(at)
        assert has(out, FetchToken)
        out += self.token(at)
        assert has(out, ResolveGateway)
        out += self.gateway(at, limit=limit)
        assert has(out, OpenSocket)
        out += self.opened(at)
        hello = self.hello(at, interval_ms)
        assert ops(hello) == [2], hello
        out += hello
        out += self.ready(at, session_id)
        assert self.phase is core.Phase.READY
        return tuple(out)

    def answer_requests(self, commands: Iterable[Command]) -> list[Command]:
        """Answer FetchToken / ResolveGateway at once (a healthy REST API)."""
        out: list[Command] = []
        for c in list(commands):
            answer: tuple[Command, ...] = ()
            if isinstance(c, FetchToken):
                answer = self.token(self.now)
            elif isinstance(c, ResolveGateway):
                answer = self.gateway(self.now)
            out += answer
            out += self.answer_requests(answer)
        return out

    def tick_until(self, pred: Callable[[tuple[Command, ...]], bool], max_steps: int = 500,
                   answer: bool = True, ack: bool = False) -> tuple[Command, ...]:
        """Tick at each deadline (answering REST requests, and heartbeats when ``ack``) until a
        step's commands satisfy ``pred``; return those commands."""
        for _ in range(max_steps):
            cmds = self.tick()
            if answer:
                cmds = cmds + tuple(self.answer_requests(cmds))
            if ack and 1 in ops(cmds) and self.conn is not None:
                self.ack(self.now)
            if pred(cmds):
                return cmds
        pytest.fail(f"condition not reached in {max_steps} ticks (phase {self.phase})")

    def until_open(self, max_steps: int = 500) -> OpenSocket:
        """Tick (answering REST requests) until the next OpenSocket; return it."""
        cmds = self.tick_until(lambda c: has(c, OpenSocket), max_steps)
        (opened,) = of_type(cmds, OpenSocket)
        return opened

    def reconnect(self, at: float | None = None, interval_ms: float = INTERVAL_MS) -> tuple[Command, ...]:
        """The socket asked for opens and says Hello; return the Hello step's commands."""
        assert self.phase is core.Phase.CONNECTING
        at = self.now if at is None else at
        self.opened(at)
        return self.hello(at, interval_ms)

    def keep_alive(self, until: float) -> None:
        """Tick at each deadline up to ``until``, answering every heartbeat with an ACK."""
        while self.deadline is not None and self.deadline <= until:
            cmds = self.tick()
            cmds = cmds + tuple(self.answer_requests(cmds))
            if 1 in ops(cmds) and self.conn is not None:
                self.ack(self.now)


@pytest.fixture
def driver() -> Driver:
    return Driver()


__all__ = [
    "URL", "TOKEN", "SESSION", "INTERVAL_MS", "LIMIT", "Driver", "dumps", "hello_text",
    "ready_text", "dispatch_text", "of_type", "frames", "ops", "has",
]


# -- after the whole suite, no file written contains a secret or token ------------------------------
SUITE_SECRETS = ("client-secret-XYZZY-42", "client-secret-6b1f0e9a", "live-secret-QWERTY", "s3cret", "chaos-secret",
                 "webhook-secret-7c0d3e9a")
"""Client secrets the tests hand to qqgate (shorter throwaway ones, like "s", cannot be searched for)."""
TOKEN_PATTERNS = (re.compile(rb"chaos-\d+-[0-9a-f]{16}"), re.compile(rb"sim-token-\d+"))
"""Access tokens as the chaos gateway and the simulator issue them."""


def files_with_secrets(root: "os.PathLike[str] | str") -> list[str]:
    """Every file under ``root`` holding a suite secret or an issued token, with what it holds."""
    hits = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            found = [s for s in SUITE_SECRETS if s.encode() in data]
            found += [p.pattern.decode() for p in TOKEN_PATTERNS if p.search(data)]
            if found:
                hits.append(f"{path}: {', '.join(found)}")
    return hits


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_written_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After every test has run, scan every file the suite wrote (journals, WAL files, exports,
    logs, all under pytest's base temporary directory) for a client secret or an access token."""
    yield None
    base = tmp_path_factory.getbasetemp()
    hits = files_with_secrets(base)
    assert not hits, "secrets found in files written by the test suite:\n" + "\n".join(hits[:20])
