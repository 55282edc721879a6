"""AsyncGatewayClient: the gateway connection as an asyncio object, with no monkey-patching.

::

    async with AsyncGatewayClient(ShellConfig.from_env()) as client:
        await client.wait_ready()
        async for event in client:                        # typed events, in order
            if isinstance(event, C2CMessage):
                await client.reply(event, f"echo: {event.content}")

or with handlers by event name (coroutines or plain functions)::

    client = AsyncGatewayClient(config)

    @client.on("C2C_MESSAGE_CREATE")
    async def echo(message: C2CMessage) -> None:
        await client.reply(message, f"echo: {message.content}")

    async with client:
        await client.wait_closed()                        # until stop(), or a final Fatal (a ban)

The runtime stays where it always is: an OS thread with its own gevent hub (``_hub``), which
no event-loop code can delay. Dispatches, status changes and fatals cross into the loop through
one ``loop.call_soon_threadsafe`` per batch (``_LoopHost``, this face's host side), and are
handed out in order. A dispatch is settled when the ``async for`` asks for the next one, or
when its handlers returned: a resume never skips one the bot has not finished. Nothing here
blocks the loop: ``start``, ``stop`` and ``send`` run their blocking parts in the loop's
default executor. A handler that blocks the loop (``time.sleep``, a synchronous LLM call) only
delays later dispatches, never a heartbeat.

Status and fatal are awaitables and callbacks: ``await wait_ready()``, ``await wait_closed()``
(the final ``core.Fatal``, or None after a clean stop), ``on_status``/``on_fatal`` (functions or
coroutines, called in order), ``status()`` (never blocks).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import inspect
import logging
import time
from types import TracebackType
from typing import Any, Awaitable, Callable, TypeVar

from qqgate import core

from ._client import GatewayClient
from ._config import ShellConfig
from ._events import Event, parse_event
from ._host import CallbackHost
from ._hub import HubThread
from ._router import Handler
from ._sender import Kind, MessageSender, Sent
from ._status import GatewayStatus

log = logging.getLogger("qqgate.shell")

H = TypeVar("H", bound=Callable[..., Any])
StatusHook = Callable[[core.StatusChanged], Any]
FatalHook = Callable[[core.Fatal], Any]
_END = object()


class GatewayFailed(Exception):
    """The client stopped for good (a non-retryable ``core.Fatal``: a ban, refused credentials,
    a configuration error) before what was awaited happened; ``fatal`` is that Fatal."""

    def __init__(self, fatal: core.Fatal | None, what: str = "the gateway client stopped") -> None:
        super().__init__(f"{what}: {fatal.reason}" if fatal is not None else what)
        self.fatal = fatal


class _LoopHost(CallbackHost):
    """The host side of an AsyncGatewayClient: what the driver puts (from the hub thread) is
    collected in a deque and handed to the loop by one ``call_soon_threadsafe`` per batch."""

    def __init__(self, owner: "AsyncGatewayClient", loop: asyncio.AbstractEventLoop,
                 settle: Callable[[core.Dispatch], None], counters: dict[str, int]) -> None:
        super().__init__(settle, _unused, None, None, counters)
        self._owner = owner
        self._loop = loop
        self._items: collections.deque[Any] = collections.deque()
        self._scheduled = False

    def put_dispatch(self, dispatch: core.Dispatch) -> None:
        self._items.append(dispatch)

    def put_event(self, event: core.StatusChanged | core.Fatal) -> None:
        self._items.append(event)

    def wake(self) -> None:
        if self._scheduled or not self._items:
            return
        self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._pump)
        except RuntimeError:  # the loop is closed: nobody is left to hand anything to
            self._scheduled = False
            self._items.clear()

    def close(self) -> None:
        self._items.append(_END)
        self.wake()

    def _pump(self) -> None:
        self._scheduled = False
        items = self._items
        receive = self._owner._receive
        while items:
            receive(items.popleft())


def _unused(_dispatch: core.Dispatch) -> None:  # pragma: no cover - _LoopHost never runs strands
    raise AssertionError("not called")


class _InnerClient(GatewayClient):
    """A GatewayClient whose host side is the event loop (``_LoopHost``)."""

    def __init__(self, owner: "AsyncGatewayClient", loop: asyncio.AbstractEventLoop, config: ShellConfig,
                 hub: HubThread | None) -> None:
        super().__init__(config, on_dispatch=_unused, hub=hub)
        self._owner = owner
        self._loop = loop

    def _make_host(self, counters: dict[str, int]) -> CallbackHost:
        return _LoopHost(self._owner, self._loop, self._settle, counters)


class AsyncGatewayClient:
    """One bot's gateway connection for asyncio programs (see the module docstring).

    ``sender``: the ``MessageSender`` for ``send``/``reply`` (default: one for ``config``,
    sharing the connection's token). ``on_status``/``on_fatal``: functions or coroutines.
    ``hub``: the runtime thread (default: the process-wide one). Start it once (``async with``
    or ``await start()``), from inside a running event loop.
    """

    def __init__(self, config: ShellConfig, *, sender: MessageSender | None = None,
                 on_status: StatusHook | None = None, on_fatal: FatalHook | None = None,
                 hub: HubThread | None = None,
                 on_handled: Callable[[str, float], None] | None = None) -> None:
        if not isinstance(config, ShellConfig):
            raise TypeError("config must be an io_shell.ShellConfig")
        self.config = config
        self.sender = sender if sender is not None else MessageSender(config, hub=hub)
        self._hub = hub
        self._on_status = on_status
        self._on_fatal = on_fatal
        self.on_handled = on_handled
        self._handlers: dict[str, list[Handler]] = {}
        self._client: _InnerClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffer: collections.deque[core.Dispatch] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._taken: core.Dispatch | None = None
        self._ended = False
        self._ready: asyncio.Event | None = None
        self._closed: asyncio.Future[core.Fatal | None] | None = None
        self._final: core.Fatal | None = None
        self._hooks: asyncio.Queue[Any] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.handler_errors = 0

    # -- handlers ---------------------------------------------------------------------------------
    def on(self, event: str | type[Event]) -> Callable[[H], H]:
        """Decorator: ``handler(event)`` (a coroutine function or a plain one) for dispatches
        named ``event`` (a type name, a typed event class, or ``"*"``). Add handlers before
        ``start()``; with any handler added, dispatches go to the handlers, not to ``async for``."""
        names = (event.strip().upper() if event.strip() != "*" else "*",) if isinstance(event, str) \
            else event.EVENT_TYPES
        if not names or not all(names):
            raise ValueError(f"no dispatch type to handle in {event!r}")

        def add(handler: H) -> H:
            if not callable(handler):
                raise TypeError("handler must be callable")
            for name in names:
                self._handlers.setdefault(name, []).append(handler)
            return handler
        return add

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the connection (the journal is opened in the loop's executor); returns at once.
        Raises RuntimeError when called twice, and what ``GatewayClient.start`` raises."""
        if self._client is not None:
            raise RuntimeError("AsyncGatewayClient.start() may be called once; build a new client to restart")
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._ready = asyncio.Event()
        self._closed = loop.create_future()
        self._hooks = asyncio.Queue()
        self._client = _InnerClient(self, loop, self.config, self._hub)
        self._tasks.append(loop.create_task(self._run_hooks(), name="qqgate-status-hooks"))
        if self._handlers:
            self._tasks.append(loop.create_task(self._run_handlers(), name="qqgate-handlers"))
        await loop.run_in_executor(None, self._client.start)

    async def stop(self, timeout_s: float = 5.0) -> bool:
        """Close with 1000 and wait (in the executor, never blocking the loop) up to ``timeout_s``
        seconds for the runtime to end this client; True when it did. Idempotent."""
        client = self._client
        if client is None:
            return True
        loop = asyncio.get_running_loop()
        clean: bool = await loop.run_in_executor(None, client.stop, timeout_s)
        closed = self._closed
        if closed is not None and clean:
            try:
                await asyncio.wait_for(asyncio.shield(closed), timeout=max(0.1, timeout_s))
            except asyncio.TimeoutError:
                clean = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        return clean

    async def __aenter__(self) -> "AsyncGatewayClient":
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # -- awaitables -----------------------------------------------------------------------------------
    async def wait_ready(self, timeout_s: float | None = None) -> GatewayStatus:
        """Wait until the connection is READY; return its status. Raises GatewayFailed when the
        client stops for good first, asyncio.TimeoutError after ``timeout_s`` seconds, and
        RuntimeError before ``start()``."""
        ready, closed = self._ready, self._closed
        if ready is None or closed is None:
            raise RuntimeError("start() the client first")
        if not self.is_ready():
            ready.clear()
            waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(ready.wait()),
                                                 asyncio.ensure_future(asyncio.shield(closed))}
            try:
                done, _ = await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if not done:
                raise asyncio.TimeoutError(f"not READY within {timeout_s} s (phase {self.status().phase})")
            if closed.done() and not self.is_ready():
                raise GatewayFailed(closed.result(), "the gateway client stopped before READY")
        return self.status()

    async def wait_closed(self) -> core.Fatal | None:
        """Wait until the client has ended: the final (non-retryable) ``core.Fatal`` that ended
        it (a ban), or None after a ``stop()``."""
        closed = self._closed
        if closed is None:
            raise RuntimeError("start() the client first")
        return await asyncio.shield(closed)

    # -- async iteration ---------------------------------------------------------------------------------
    def __aiter__(self) -> "AsyncGatewayClient":
        return self

    async def __anext__(self) -> Event:
        """The next dispatch as a typed event; the previous one is settled now. Ends when the
        client ends. Raises RuntimeError when handlers were added (they take the dispatches)."""
        if self._handlers:
            raise RuntimeError("this client hands dispatches to its handlers; add none to iterate")
        self._settle_taken()
        while not self._buffer:
            if self._ended or self._loop is None:
                raise StopAsyncIteration
            waiter = self._loop.create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        dispatch = self._buffer.popleft()
        self._taken = dispatch
        return parse_event(dispatch, self.sender)

    def _settle_taken(self) -> None:
        taken, self._taken = self._taken, None
        if taken is not None and self._client is not None:
            self._client._settle(taken)

    # -- what the loop host hands over (on the loop) ------------------------------------------------------
    def _receive(self, item: Any) -> None:
        if isinstance(item, core.Dispatch):
            self._buffer.append(item)
        elif item is _END:
            self._ended = True
            if self._closed is not None and not self._closed.done():
                self._closed.set_result(self._final)
        else:
            if isinstance(item, core.StatusChanged) and item.phase is core.Phase.READY and self._ready is not None:
                self._ready.set()
            if isinstance(item, core.Fatal) and not item.retryable:
                self._final = item
            if self._hooks is not None:
                self._hooks.put_nowait(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _run_hooks(self) -> None:
        assert self._hooks is not None
        while True:
            item = await self._hooks.get()
            hook: Callable[[Any], Any] | None = self._on_status if isinstance(item, core.StatusChanged) \
                else self._on_fatal
            if hook is None:
                continue
            try:
                result = hook(item)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - a hook's bug is logged, never fatal
                log.exception("%s hook raised", type(item).__name__)

    async def _run_handlers(self) -> None:
        while True:
            while not self._buffer:
                if self._ended:
                    return
                assert self._loop is not None
                waiter = self._loop.create_future()
                self._waiter = waiter
                try:
                    await waiter
                finally:
                    self._waiter = None
            dispatch = self._buffer.popleft()
            if dispatch.event_type in self._handlers or "*" in self._handlers:
                started = time.perf_counter()
                event = parse_event(dispatch, self.sender)
                # a dispatch whose fields do not fit its type goes to the "*" handlers alone
                handlers = (self._handlers.get(dispatch.event_type, []) if event.problem is None else []) \
                    + self._handlers.get("*", [])
                for handler in handlers:
                    try:
                        result = handler(event)
                        if inspect.isawaitable(result):
                            await result
                    except Exception:  # noqa: BLE001 - logged, counted; the dispatch is settled anyway
                        self.handler_errors += 1
                        log.exception("handler %s raised for %s s=%s", getattr(handler, "__qualname__", handler),
                                      dispatch.event_type, dispatch.seq)
                if self.on_handled is not None:
                    self.on_handled(dispatch.event_type, time.perf_counter() - started)
            if self._client is not None:
                self._client._settle(dispatch)

    # -- sending and the synchronous views ------------------------------------------------------------------
    async def send(self, kind: Kind | str, target: str, content: str | None = None, **fields: Any) -> Sent:
        """Send a message with the managed token (``MessageSender.send``, in the loop's
        executor). Raises what it raises (``SendError``, ``RateLimited``, ...)."""
        loop = asyncio.get_running_loop()
        call: Callable[[], Sent] = functools.partial(self.sender.send, kind, target, content, **fields)
        return await loop.run_in_executor(None, call)

    def reply(self, event: Event, content: str | None = None, **fields: Any) -> Awaitable[Sent]:
        """``await client.reply(message, "text")``: ``event.areply`` (``msg_id``/``event_id`` set)."""
        return event.areply(content, **fields)

    def status(self) -> GatewayStatus:
        """``GatewayClient.status()``: a snapshot, never blocks."""
        if self._client is None:
            return GatewayClient(self.config, on_dispatch=None).status()
        return self._client.status()

    def is_ready(self) -> bool:
        return self._client is not None and self._client.is_ready()

    @property
    def running(self) -> bool:
        return self._client is not None and self._client.running

    def redact(self, text: str) -> str:
        """``text`` scrubbed of the secret and every token this client received."""
        return self._client.redact(text) if self._client is not None else self.sender.redact(text)

    @property
    def client(self) -> GatewayClient | None:
        """The GatewayClient underneath (None before ``start()``)."""
        return self._client


__all__ = ["AsyncGatewayClient", "GatewayFailed"]
