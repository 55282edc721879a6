"""The client secret and the access token planted in every field an answer can carry never leave.

A planted server (HTTP on 127.0.0.1, in a thread) answers ``qqgate run`` with the secret and the
token where a careless or hostile API could put them: an error body that echoes the secret right
across the 200-character snippet boundary (so that cutting before scrubbing would leave its first
9 characters), ``expires_in`` carrying the secret, an error body echoing the token across the
boundary, ``code``/``message`` carrying both, and finally a gateway URL whose host is the token
(cleartext, off this machine: a final Fatal). Then stdout, stderr (debug logs), the SQLite journal
and its JSON-lines export are scanned for the secret, the token and every 8-character piece of
either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Sx7Qz2Wv9LmPq4Rt8Yk"
TOKEN = "Tk3Jd8Hq5Wz1Xc6Vb0Np"
SNIPPET = 200
"""io_shell._rest: at most this many characters of an answer go into a message."""


def boundary_body(secret: str) -> str:
    """An error body whose 200-character cut falls 9 characters into ``secret``."""
    return "e" * (SNIPPET - 9) + secret + " trailing words"


class Planted(BaseHTTPRequestHandler):
    token_answers: list[tuple[int, Any]] = []
    gateway_answers: list[tuple[int, Any]] = []
    seen: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, answers: list[tuple[int, Any]]) -> None:
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append("token")
        self._answer(self.token_answers)

    def do_GET(self) -> None:
        self.seen.append("gateway")
        self._answer(self.gateway_answers)


@pytest.fixture
def planted() -> Iterator[str]:
    Planted.seen = []
    Planted.token_answers = [
        (500, boundary_body(SECRET)),                               # secret across the snippet boundary
        (200, {"access_token": TOKEN, "expires_in": SECRET}),       # expires_in carrying the secret
        (200, {"access_token": TOKEN, "expires_in": "7200"}),       # then a good token
    ]
    Planted.gateway_answers = [
        (500, boundary_body(TOKEN)),                                # token across the boundary
        (200, {"code": SECRET, "message": TOKEN}),                  # no url; both in code/message
        (200, {"url": f"ws://{TOKEN.lower()}.invalid/?s={SECRET}&t={TOKEN}"}),  # cleartext, off-host
    ]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Planted)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def leaks(text: str) -> list[str]:
    """Every 8-character piece of the secret or the token found in ``text`` (case-insensitive)."""
    low = text.lower()
    found = []
    for secret in (SECRET, TOKEN):
        for i in range(len(secret) - 7):
            piece = secret[i:i + 8]
            if piece.lower() in low:
                found.append(piece)
    return found


def test_planted_secrets_reach_no_output(planted: str, tmp_path: Path) -> None:
    journal = tmp_path / "planted.sqlite"
    env = dict(os.environ, QQ_APP_ID="102000007", QQ_CLIENT_SECRET=SECRET, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "qqgate", "run", "--api-base", planted,
                           "--token-url", planted + "/app/getAppAccessToken", "--journal", str(journal),
                           "--seed", "1", "--duration", "40", "--log-level", "debug"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    out, err = proc.stdout, proc.stderr
    assert proc.returncode == 1, (out, err)  # the cleartext gateway URL is a final Fatal
    assert "FATAL final" in out and "refusing a cleartext ws:// URL" in out
    assert Planted.seen == ["token", "token", "token", "gateway", "gateway", "gateway"], Planted.seen
    # The answers' own words are there, scrubbed: the failures were reported, not hidden.
    assert "expires_in is not a number of seconds" in err and "HTTP 500" in err
    export = tmp_path / "planted.jsonl"
    exported = subprocess.run([sys.executable, "-m", "qqgate", "export", str(journal), "--out", str(export)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert exported.returncode == 0, exported.stderr
    outputs = {"stdout": out, "stderr": err, "journal": journal.read_bytes().decode("utf-8", "replace"),
               "export": export.read_text(encoding="utf-8"),
               "export-stdout": exported.stdout + exported.stderr}
    assert "«redacted»" in err or "«client-secret»" in err  # scrubbed, where the secret stood
    for name, text in outputs.items():
        assert leaks(text) == [], f"{name} leaks {leaks(text)}"
