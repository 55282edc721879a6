"""The chaos gateway: a real WebSocket + HTTP QQ gateway on loopback, driven by the server model.

``ChaosGateway(world, time_scale, port)`` runs ``replay._server.GatewayServer`` (the model
the simulator uses) on real sockets with gevent, wsproto and h11, applies the world's
faults in real time, and records what happened. ``qqgate gateway`` is its command line.
"""

from ._app import ChaosGateway, fault_from_json
from ._link import GatewayEvent, RealTimeLink, scaled_world
from ._rest import SentMessage

__all__ = ["ChaosGateway", "GatewayEvent", "RealTimeLink", "SentMessage", "fault_from_json",
           "scaled_world"]
