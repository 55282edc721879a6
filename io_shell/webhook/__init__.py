"""qqgate.io_shell.webhook: QQ's webhook (HTTP callback) delivery on the same pipeline as the gateway.

::

    from qqgate.io_shell.webhook import ReceiverConfig, ReceiverServer, WebhookReceiver
    receiver = WebhookReceiver(ReceiverConfig.from_env(journal="bot.sqlite"), on_dispatch=handle)
    receiver.start()
    ReceiverServer(receiver, "127.0.0.1", 8443).start()     # or mount receiver.wsgi_app anywhere

Modules: ``_signing`` (the key from the bot secret, Ed25519 through ``cryptography``),
``_config`` (ReceiverConfig), ``_receiver`` (WebhookReceiver: the reducer, the journal, the
delivery, the status), ``_restart`` (what the journal store's last session left), ``_wsgi`` (the
WSGI application), ``_server`` (gevent's WSGI server on the runtime's hub thread), ``_run``
(``qqgate run --transport webhook``).
The decisions are the pure webhook reducer's, ``qqgate.core.webhook``.
"""

from ._config import ALLOWED_PORTS, ReceiverConfig
from ._receiver import Answer, WebhookReceiver
from ._server import ReceiverServer
from ._signing import Signer, signing_seed
from ._wsgi import wsgi_app

__all__ = ["ALLOWED_PORTS", "Answer", "ReceiverConfig", "ReceiverServer", "Signer", "WebhookReceiver",
           "signing_seed", "wsgi_app"]
