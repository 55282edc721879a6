"""The world a client runs in: server parameters and a fault schedule, as plain data.

Every time is in seconds of model time from the start of the run; every duration is in
seconds. Facts come from protocol.md ("Timing facts", "REST facts", "Corrections") and
incidents.md; where QQ documents nothing and no real report shows the answer, the field
says "inferred" and why the default was chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ._faults import Fault

DropStyle = Literal["fin", "empty", "reset"]
"""How the server ends a connection without a close code: ``"fin"`` closes TCP with no close
frame (the client reads EOF), ``"empty"`` sends a close frame with no status code (the client
sees ``code=None``/1005), ``"reset"`` aborts TCP with an RST (the client sees a connection
reset). Real logs show all three (hermes' ``WebSocket closed: code=None reason=``, EOFs, and
resets)."""

KNOWN_INTENTS = ((1 << 0) | (1 << 1) | (1 << 9) | (1 << 10) | (1 << 12) | (1 << 18) | (1 << 19) | (1 << 23)
                 | (1 << 24) | (1 << 25) | (1 << 26) | (1 << 27) | (1 << 28) | (1 << 29) | (1 << 30))
"""Every intent bit any source names (protocol.md, "Intents" and "Corrections": 1<<23 from botgo,
1<<24 from NoneBot; 1<<18 open forum and 1<<19 audio/live members from botpy 1.2.1's flags.py).
An Identify with another bit, or with none, is refused with 4013."""


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """Server parameters and the fault schedule for one run.

    Connection and timing:

    - ``heartbeat_interval_ms``: sent in Hello (milliseconds, as on the wire).
    - ``heartbeat_timeout_s``: the server drops a connection, with no close code, after
      this long without a heartbeat (observed ~60 s: hermes #19414, #19648); how it drops
      it is ``drop_style``.
    - ``session_cycle_s``: op 7 + 4009 after a connection has lived this long (observed
      1800 ± 3 s); None disables the cycle.
    - ``message_interval_s``: mean gap between C2C message dispatches while a session is
      live; None: none.
    - ``duplicate_probability``: chance each message dispatch is pushed twice (same ``d.id``).
    - ``latency_s``: one-way network latency; both links add it (the simulator on its virtual
      clock, the chaos gateway before every frame and close it sends).
    - ``session_conflict_s``: an Identify this soon after a connection dropped is refused
      with a close (incident 6: the old session is not cleaned up yet). A Resume of that old
      session is not a conflict.

    Resume (how long a lost session can be resumed and what a Resume replays):

    - ``server_resume_window_s``: a session whose connection ended this long ago can no
      longer be resumed. QQ does not document it (protocol.md: "a few minutes"; OpenClaw
      assumes 5 min; Discord's is minutes too); 600 s is inferred. The soak draws it.
    - ``server_session_max_age_s``: a Resume of a session older than this is refused like an
      expired one (None: never). QQ documents no session lifetime; bot-docs#191 saw a session
      stop delivering after about three days of resumes. The soak draws it.
    - ``expired_resume_close`` / ``expired_resume_reason``: how a Resume of an expired (or
      too old) session is refused: a close with this code (None: a drop with no code,
      ``drop_style``). Inferred from the nearest real reports: bot-node-sdk#94 sees
      ``4902 reset by resume`` for every Resume after a drop, hermes #22179 a socket closed at
      once with no code. The session is forgotten either way.
    - ``resume_replay_limit``: the server keeps this many of a session's latest dispatches
      for replay; a Resume from an older ``seq`` is refused with 4007 "invalid seq". A Resume
      replays every kept dispatch with ``s > seq``, in order, then RESUMED (protocol.md).

    Sessions and tokens (how strict the server is):

    - ``credentials``: the (appId, clientSecret) pairs the token endpoint accepts; empty: any
      pair of non-empty strings (multi-bot benchmarks run many bots on one gateway). A
      rejected pair gets HTTP 401 ``{"code": 100016, "message": "invalid appid or secret"}``.
    - ``token_lifetime_s`` / ``token_overlap_s``: an access token lives this long; in its
      last ``token_overlap_s`` a request gets a new one and the old stays valid to its end
      (protocol.md, "REST facts"). Identify and Resume need a live token, else 4004.
    - ``allowed_intents``: the intents this bot may use; an Identify asking for any other
      known intent gets op 9 then close 4903 "create session error", every time
      (openclaw-qqbot#18; satori#363 logs the close reason "disallowed intents").
    - ``session_start_limit_total``, ``max_concurrency``, ``identify_window_s``,
      ``session_start_reset_s``: ``GET /gateway/bot``'s ``session_start_limit``. At most
      ``max_concurrency`` sessions start per ``identify_window_s`` and ``total`` per
      ``session_start_reset_s``; ``remaining`` counts down with each READY. An Identify past
      either limit is refused like disallowed intents (op 9 then 4903; inferred: QQ documents
      the limits, not the answer).
    - ``drop_style``: how the server ends a connection without a code (``DropStyle``).

    Soak knobs: ``ack_loss_probability`` and ``ack_delay_max_s`` (below).
    """

    heartbeat_interval_ms: int = 41250
    heartbeat_timeout_s: float = 60.0
    session_cycle_s: float | None = 1800.0
    session_cycle_jitter_s: float = 3.0
    message_interval_s: float | None = 20.0
    duplicate_probability: float = 0.0
    latency_s: float = 0.03
    server_resume_window_s: float = 600.0
    session_conflict_s: float = 0.0
    ack_loss_probability: float = 0.0
    """Chance the server answers a heartbeat with no op 11 ACK (soak: lost ACKs)."""
    ack_delay_max_s: float = 0.0
    """Each op 11 ACK is sent after U(0, this) seconds (soak: late ACKs)."""
    faults: tuple[Fault, ...] = field(default_factory=tuple)
    server_session_max_age_s: float | None = None
    expired_resume_close: int | None = 4902
    expired_resume_reason: str = "reset by resume"
    resume_replay_limit: int = 5000
    credentials: tuple[tuple[str, str], ...] = ()
    token_lifetime_s: float = 7200.0
    token_overlap_s: float = 60.0
    allowed_intents: int = KNOWN_INTENTS
    session_start_limit_total: int = 1000
    max_concurrency: int = 1
    identify_window_s: float = 5.0
    session_start_reset_s: float = 86400.0
    drop_style: DropStyle = "fin"
