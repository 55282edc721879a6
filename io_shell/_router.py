"""EventRouter: handlers by event name, on typed events; usable as any transport's ``on_dispatch``.

::

    router = EventRouter(MessageSender(config))

    @router.on("C2C_MESSAGE_CREATE")            # or @router.on(C2CMessage), or "*" for every event
    def echo(message: C2CMessage) -> None:
        message.reply(f"echo: {message.content}")

    GatewayClient(config, on_dispatch=router)   # or WebhookReceiver(..., on_dispatch=router)

Each dispatch is parsed once (``_events.parse_event``: never raises) and given to the handlers
of its type, in the order they were added, then to the ``"*"`` handlers. A handler named for a
typed event only ever gets that type: a dispatch whose fields do not fit (``Event.problem``,
logged) goes to the ``"*"`` handlers alone and is counted in ``untyped``. A handler that raises
is logged and counted (``errors``), and the other handlers still run; the dispatch is settled
when the router returns. ``on_handled(event_type, seconds)``, when given, hears how long the
handlers of each dispatch took (the metrics' handler latency), on the handler's thread.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, TypeVar

from qqgate import core

from ._events import Event, parse_event
from ._sender import MessageSender

log = logging.getLogger("qqgate.events")

Handler = Callable[[Any], object]
H = TypeVar("H", bound=Handler)


class EventRouter:
    """Typed-event handlers by event name (see the module docstring). ``__call__(dispatch)`` is
    the ``on_dispatch`` of a GatewayClient, a WebhookReceiver or a BotPool bot."""

    def __init__(self, sender: MessageSender | None = None,
                 on_handled: Callable[[str, float], None] | None = None) -> None:
        self.sender = sender
        self.on_handled = on_handled
        self._handlers: dict[str, list[Handler]] = {}
        self.errors = 0
        self.unhandled = 0
        self.untyped = 0

    def on(self, event: str | type[Event]) -> Callable[[H], H]:
        """Decorator: ``handler(event)`` for dispatches named ``event`` (a dispatch type such as
        ``"C2C_MESSAGE_CREATE"``, a typed event class for each type it parses, or ``"*"``).
        Raises ValueError for an empty name or a class that parses no type."""
        names = self._names(event)

        def add(handler: H) -> H:
            self._add(names, handler)
            return handler
        return add

    def add(self, event: str | type[Event], handler: Handler) -> None:
        """Add ``handler`` for ``event`` (as ``on``). Raises TypeError when it is not callable."""
        self._add(self._names(event), handler)

    def _add(self, names: tuple[str, ...], handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("handler must be callable")
        for name in names:
            self._handlers.setdefault(name, []).append(handler)

    @staticmethod
    def _names(event: str | type[Event]) -> tuple[str, ...]:
        if isinstance(event, str):
            if not event.strip():
                raise ValueError("event name must not be empty")
            names: tuple[str, ...] = (event.strip().upper() if event.strip() != "*" else "*",)
        else:
            names = event.EVENT_TYPES
            if not names:
                raise ValueError(f"{event.__name__} parses no dispatch type; name one, or use '*'")
        return names

    def handlers(self, event_type: str, typed: bool = True) -> list[Handler]:
        """The handlers a dispatch of ``event_type`` runs, in order (``typed`` False: one whose
        fields did not fit its type, which only the ``"*"`` handlers get)."""
        named = self._handlers.get(event_type, []) if typed else []
        return named + self._handlers.get("*", [])

    def __call__(self, dispatch: core.Dispatch) -> None:
        if dispatch.event_type not in self._handlers and "*" not in self._handlers:
            self.unhandled += 1
            return
        started = time.perf_counter()
        event = parse_event(dispatch, self.sender)
        if event.problem is not None:
            self.untyped += 1
        handlers = self.handlers(dispatch.event_type, event.problem is None)
        for handler in handlers:
            try:
                handler(event)
            except Exception:  # noqa: BLE001 - one handler's bug must not stop the others
                self.errors += 1
                log.exception("handler %s raised for %s s=%s", getattr(handler, "__qualname__", handler),
                              dispatch.event_type, dispatch.seq)
        if self.on_handled is not None:
            self.on_handled(dispatch.event_type, time.perf_counter() - started)


__all__ = ["EventRouter"]
