"""Models of real QQ clients: hermes-agent's QQ adapter (v0.12 to after its 2026-06 fixes), and
botpy 1.2.1 (``_botpy``, ``BotpyModel``).

The hermes model:

A pure reducer with the core's signature (``replay.world.ClientModel``) that reproduces
the production incidents of incidents.md in the simulator. It never emits ``Fatal``: the
real adapter never told its host; it records ``fatal_error`` in its state instead.

Rules where incidents.md leaves a choice (each is a decision of this model):

- Closes. ``SocketClosed`` with a code, or with no code and an empty reason, is a close
  frame (``QQCloseError``): ``WebSocket closed: code=%s reason=%s``, so the ~60 s silent drop
  of the death loop logs ``WebSocket closed: code=None reason=`` like the real excerpt. No
  code with a non-empty reason (a transport error text) is the exception path
  (``WebSocket error: WebSocket closed``). With ``close_codes_visible=False`` every close
  takes the exception path (incident 5).
- Quick disconnects are counted on the close path only; the count goes back to 0 on a close
  after ≥ 5 s, on every successful reconnect and when reading ends normally, as the adapter
  does. Since every reconnect counts as a success at the upgrade, three in a row is
  practically unreachable, which is why a server that accepts and then drops the socket is
  redialled every 2 s for ever (incidents 6 and 7). The give-up branch is kept for fidelity.
- Stale sockets: the adapter only reads the socket object it holds; inputs naming any
  other conn (a socket it replaced, or one it stopped dialling) are ignored, as aiohttp
  would never deliver them. Inputs for the held socket after it closed are ignored too.
- Busy spin (v0.14): every input is ignored (the event loop is starved, so not even the
  heartbeat task or ``disconnect()`` can run); ``next_deadline`` is the ``at`` of the last
  input, so the virtual clock stands still and the simulator's spin detector stops the run.
- op 7 and op 9 are ignored by every version before the fixes: the server's close, which
  follows them, drives the reconnect (the PyPI 0.13.0 and 0.14.0 adapters are byte-identical
  and both ignore them, research notes formats.md; only the 2026-06 code handles them).
- The heartbeat task: on waking it sends op 1 if the held socket is open (no log), then ends
  for good if ``running`` is false, else sleeps the current interval again. A timer and the
  listen loop due at the same instant: the heartbeat goes first.
- ``Reconnect failed: %s`` prints the error text of the failed input verbatim.
- Identify/Resume use the token held when Hello arrives (no refresh at that point);
  ``SendFailed`` and ``DispatchSettled`` are ignored (the adapter only logged failed sends at
  DEBUG); binary frames are ignored; a Start after the first one is ignored.
- Startup failure (token, URL or socket on the first connect): ``QQ startup failed: %s``,
  ``fatal_error`` set, no tasks started (the real host retries that itself; out of scope).
- Close codes: 4006, 4007, 4009 and 4900–4913 drop the session in both versions; 4914 logs
  the adapter's own wording ``Bot is offline/sandbox-only. Check QQ Open Platform.``, 4915
  ``Bot is banned. Check QQ Open Platform.``.
- Dispatches are delivered without dedupe (``dedupe_key`` = ``d.id`` or ``s:<seq>``).

- Versions (``VERSIONS``): 0.12 and 0.13 clear ``running`` on every error; 0.14 only marks the
  transport down (so it spins on a closed socket); "fixed" resumes after 4009, handles op 7 and
  op 9 (``Server requested reconnect (op 7)``), stops on fatal codes and raises on a closed
  socket. The heartbeat task's startup race: it reads the interval when it starts, 30 s, unless
  Hello arrived within ``HELLO_RACE_WINDOW_S`` of the socket opening and the seed's draw says
  Hello was processed first (``FIRST_BEAT_HELLO_FIRST_P``, measured 5 of 14): then 33 s.

Modules: ``_state`` (config, state and the adapter's numbers), ``_messages`` (its log texts),
``_model`` (``AdapterStep``: its behaviour, one input at a time), ``_reducer`` (``LegacyModel``),
``_botpy`` (``BotpyModel``, botpy 1.2.1).
Part of replay proper; it imports only the core (the world drives it like any client).
"""

from . import _messages as messages
from ._botpy import BotpyConfig, BotpyModel, BotpyState
from ._model import hello_wins_race
from ._reducer import LegacyModel
from ._state import (
    FIRST_BEAT_HELLO_FIRST_P, HELLO_RACE_WINDOW_S, MAX_RECONNECT_ATTEMPTS, RECONNECT_DELAYS_S, VERSIONS,
    HeartbeatTask, LegacyConfig, LegacyState, ListenLoop, LoopEnd,
)

__all__ = [
    "LegacyConfig", "LegacyModel", "LegacyState", "HeartbeatTask", "ListenLoop", "LoopEnd",
    "MAX_RECONNECT_ATTEMPTS", "RECONNECT_DELAYS_S", "VERSIONS", "messages",
    "FIRST_BEAT_HELLO_FIRST_P", "HELLO_RACE_WINDOW_S", "hello_wins_race",
    "BotpyConfig", "BotpyModel", "BotpyState",
]
