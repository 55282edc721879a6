"""``step(state, input) -> (state, commands)``: the webhook reducer, one HTTP callback at a time.

For a ``CallbackReceived`` the order of the checks is the order of the trust they need:

1. the phase: before ``Start`` or after ``Stop`` an event is answered ``{"op":12,"d":1}``
   ("the server will retry", botgo ``interaction/webhook``), so nothing is accepted that
   could not be handled;
2. the signature verdict (the shell's check of ``X-Signature-Ed25519`` over
   ``X-Signature-Timestamp`` + body, bot-docs ``interface-framework/sign``): anything but
   ``valid`` is answered 401, op 13 included (botgo verifies op 13 too);
3. the timestamp: outside ``WebhookConfig.timestamp_window_s`` of the receiver's wall clock,
   401 (a replay guard the docs do not ask for: our addition);
4. the body: not a payload, 400;
5. op 13: ``AnswerValidation``; op 1: op 11; op 0: deduplicated by the top-level ``id``
   (redeliveries repeat it, AstrBot PR #6320), answered ``{"op":12,"d":0}`` *first* and then
   handed to the host as the core's ``Deliver`` (answer fast, then handle), or answered
   ``{"op":12,"d":1}`` when ``max_in_flight`` deliveries are still unsettled.

Pure and deterministic like the core: never raises, no I/O, no clock, no randomness.
"""

from __future__ import annotations

import math
from typing import assert_never

from .._commands import Deliver, Dispatch, Fatal, Log, StatusChanged
from .._inputs import DispatchSettled, Start, Stop
from .._phases import Phase
from ._commands import ACK, ACK_RETRY, AnswerValidation, Respond, WebhookCommand
from ._inputs import CallbackReceived, CallbacksRestored, Signature, WebhookInput
from ._payload import Event, Heartbeat, Malformed, Validation, decode_callback, safe_unsigned_validation
from ._state import WebhookState

MAX_TIME_S = 1e12
"""Input times (and wall-clock readings) beyond ±1e12 s are rejected, as in the core."""

_SIGNATURE_REASONS = {
    Signature.INVALID: "signature does not verify",
    Signature.MISSING: "signature or timestamp header missing",
    Signature.MALFORMED: "signature is not 64 bytes of hex",
}


def _finite(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return -MAX_TIME_S <= value <= MAX_TIME_S


def _error(status: int, message: str) -> str:
    # The messages are fixed ASCII text without quotes: no JSON escaping is needed.
    return f'{{"code":{status},"message":"{message}"}}'


def step(state: WebhookState, inp: WebhookInput) -> tuple[WebhookState, tuple[WebhookCommand, ...]]:
    """Feed one input; return the new state and the commands to execute, in order.

    Never raises on any input: a malformed callback becomes a counted ``Log`` and a 4xx
    ``Respond``. An ``at`` earlier than a previous input is handled at the latest time seen
    and counted as a clock regression.
    """
    out: list[WebhookCommand] = []
    s = state
    at = inp.at
    if not _finite(at):
        out.append(Log("warning", "input_rejected", {"reason": "input time is not a finite number of seconds",
                                                     "input": type(inp).__name__}))
        return s._replace(counters=s.counters.bump("inputs_ignored")), tuple(out)
    if at < s.now:
        s = s._replace(counters=s.counters.bump("clock_regressions"))
        at = s.now
    s = s._replace(now=at)
    match inp:
        case CallbackReceived():
            s = _on_callback(s, inp, out)
        case DispatchSettled():
            s = _on_settled(s, inp, out)
        case Start():
            if s.phase in (Phase.IDLE, Phase.STOPPED):
                s = s._replace(phase=Phase.READY)
                out.append(StatusChanged(Phase.READY, "receiving callbacks"))
            else:
                out.append(Log("warning", "start_ignored", {"phase": s.phase.value}))
        case Stop():
            if s.phase is not Phase.STOPPED:
                s = s._replace(phase=Phase.STOPPED)
                out.append(StatusChanged(Phase.STOPPED, "stopped by the host"))
        case CallbacksRestored():
            s = _on_restored(s, inp, out)
        case _:
            assert_never(inp)
    return s, tuple(out)


def _reject(s: WebhookState, request: int, reason: str, counter: str,
            out: list[WebhookCommand]) -> WebhookState:
    """401 for a callback that failed authentication; a long run of them is a Fatal, once."""
    out.append(Respond(request, 401, _error(401, reason)))
    out.append(Log("warning", "callback_rejected", {"request": request, "status": 401, "reason": reason}))
    in_row = s.rejected_in_row + 1
    s = s._replace(counters=s.counters.bump(counter), rejected_in_row=in_row)
    if in_row >= s.config.fatal_after_rejections and not s.outage_reported:
        out.append(Fatal(f"{in_row} callbacks in a row were rejected, none accepted (last: {reason}): "
                         "is the secret the bot's AppSecret, and is this host's clock right?", retryable=True))
        s = s._replace(outage_reported=True)
    return s


def _timestamp_problem(inp: CallbackReceived, window_s: float) -> str | None:
    stamp = inp.timestamp
    if stamp is None or not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        return "timestamp is not a number of seconds"
    if not _finite(inp.received_unix_s) or math.isnan(inp.received_unix_s):
        return "receiver clock reading is not a number"
    if abs(inp.received_unix_s - int(stamp)) > window_s:
        return "timestamp outside the replay window"
    return None


def _on_callback(s: WebhookState, inp: CallbackReceived, out: list[WebhookCommand]) -> WebhookState:
    request = inp.request
    s = s._replace(counters=s.counters.bump("callbacks"))
    callback = None
    verdict = inp.signature
    if verdict != Signature.VALID:
        if verdict == Signature.MISSING and s.config.allow_unsigned_validation:
            callback = decode_callback(inp.body)
            if not (isinstance(callback, Validation) and safe_unsigned_validation(callback)):
                callback = None
        if callback is None:
            reason = _SIGNATURE_REASONS.get(verdict, _SIGNATURE_REASONS[Signature.INVALID])
            return _reject(s, request, reason, "signature_rejected", out)
    else:
        problem = _timestamp_problem(inp, s.config.timestamp_window_s)
        if problem is not None:
            return _reject(s, request, problem, "stale_rejected", out)
        callback = decode_callback(inp.body)
    if s.rejected_in_row or s.outage_reported:
        s = s._replace(rejected_in_row=0, outage_reported=False)
    match callback:
        case Validation():
            out.append(AnswerValidation(request, callback.plain_token, callback.event_ts))
            out.append(Log("info", "callback_validation", {"request": request, "signed": verdict == Signature.VALID}))
            return s._replace(counters=s.counters.bump("validations"))
        case Event():
            return _on_event(s, request, callback, out)
        case Heartbeat():
            out.append(Respond(request, 200, f'{{"op":11,"d":{callback.d}}}'))
            return s._replace(counters=s.counters.bump("heartbeats"))
        case Malformed():
            out.append(Respond(request, 400, _error(400, callback.reason)))
            out.append(Log("warning", "callback_rejected", {"request": request, "status": 400,
                                                            "reason": callback.reason}))
            return s._replace(counters=s.counters.bump("malformed_rejected"))
        case _:
            assert_never(callback)


def _on_event(s: WebhookState, request: int, event: Event, out: list[WebhookCommand]) -> WebhookState:
    if s.phase is not Phase.READY:
        out.append(Respond(request, 200, ACK_RETRY))
        out.append(Log("info", "callback_deferred", {"request": request, "id": event.event_id,
                                                     "reason": f"receiver is {s.phase.value}"}))
        return s._replace(counters=s.counters.bump("retries_requested"))
    key = event.event_id
    if key is None and isinstance(event.data, dict) and isinstance(event.data.get("id"), str):
        key = event.data["id"]  # no top-level id: the message id, as the WebSocket path dedupes
    if key is not None and key in s.dedupe:
        out.append(Respond(request, 200, ACK))
        out.append(Log("debug", "duplicate_dropped", {"request": request, "id": key, "t": event.event_type}))
        return s._replace(counters=s.counters.bump("duplicates_dropped"))
    if len(s.in_flight) >= s.config.max_in_flight:
        out.append(Respond(request, 200, ACK_RETRY))
        out.append(Log("warning", "callback_deferred", {"request": request, "id": key,
                                                        "reason": f"{len(s.in_flight)} deliveries unsettled"}))
        return s._replace(counters=s.counters.bump("retries_requested"))
    number = s.delivered + 1
    out.append(Respond(request, 200, ACK))
    out.append(Deliver(Dispatch(number, event.event_type, event.event_id, event.data, key or "", 0)))
    return s._replace(dedupe=s.dedupe.add(key) if key is not None else s.dedupe,
                      in_flight=s.in_flight | {number}, delivered=number,
                      counters=s.counters.bump("deliveries"))


def _on_settled(s: WebhookState, inp: DispatchSettled, out: list[WebhookCommand]) -> WebhookState:
    if inp.seq not in s.in_flight:
        out.append(Log("debug", "stale_settle", {"seq": inp.seq}))
        return s._replace(counters=s.counters.bump("stale_settles"))
    return s._replace(in_flight=s.in_flight - {inp.seq}, counters=s.counters.bump("settled"))


def _on_restored(s: WebhookState, inp: CallbacksRestored, out: list[WebhookCommand]) -> WebhookState:
    """Before Start only: remember the handled keys, deliver the unhandled events again."""
    if s.phase is not Phase.IDLE or s.delivered or len(s.dedupe):
        out.append(Log("warning", "restore_ignored", {"phase": s.phase.value,
                                                      "reason": "a restore is taken before Start, once"}))
        return s._replace(counters=s.counters.bump("inputs_ignored"))
    dedupe, in_flight = s.dedupe, set(s.in_flight)
    number: int = s.delivered
    for key in inp.dedupe_keys:
        if isinstance(key, str) and key not in dedupe:
            dedupe = dedupe.add(key)
    for old in inp.unhandled:
        number += 1
        key = old.dedupe_key
        if key and key not in dedupe:
            dedupe = dedupe.add(key)
        out.append(Deliver(Dispatch(number, old.event_type, old.event_id, old.data, key, 0)))
        in_flight.add(number)
    out.append(Log("info", "callbacks_restored", {"keys": len(inp.dedupe_keys), "unhandled": len(inp.unhandled)}))
    return s._replace(dedupe=dedupe, in_flight=frozenset(in_flight), delivered=number,
                      counters=s.counters.bump("restored_deliveries", len(inp.unhandled)))
