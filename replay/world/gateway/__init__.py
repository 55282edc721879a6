"""The chaos gateway: the world's second link, a real WebSocket + HTTP QQ gateway on loopback.

``ChaosGateway(world, time_scale, port)`` runs the world's server model (``GatewayServer``,
the one the simulator drives on a virtual clock) on real sockets with gevent, wsproto and
h11, applies the world's faults in real time, and records what happened. ``qqgate gateway``
is its command line (``replay._gateway_command``).

Modules: ``_app`` (ChaosGateway: lifecycle, hub, the ``/_chaos/`` controls), ``_link`` (the
server model on the wall clock: timers, events, connections), ``_http`` (one TCP connection:
HTTP/1.1 with h11, the WebSocket upgrade, connect faults), ``_ws`` (one upgraded connection,
wsproto), ``_http_api`` (the token endpoint and the OpenAPI routes, no I/O). The webhook mode,
``ChaosWebhook``, posts signed callbacks to a receiver instead: ``_webhook`` (the run),
``_webhook_spec`` (the stream, QQ's retries and the faults, as data), ``_webhook_keys`` (the
QQ side's Ed25519 key), ``_webhook_http`` (one POST with h11).

May import: the world (``..``), core, gevent, h11, wsproto, cryptography. It is kept out of the world's
package face so that the simulator never loads gevent.
"""

from ._app import ChaosGateway
from ._http_api import SentMessage
from ._link import GatewayEvent, RealTimeLink, scaled_world
from ._webhook import Attack, Attempt, ChaosWebhook, EventRecord, Validation
from ._webhook_spec import WebhookFaults, WebhookSpec, event_ids

__all__ = ["ChaosGateway", "GatewayEvent", "RealTimeLink", "SentMessage", "scaled_world",
           "Attack", "Attempt", "ChaosWebhook", "EventRecord", "Validation", "WebhookFaults", "WebhookSpec",
           "event_ids"]
