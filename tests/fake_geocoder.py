"""A fake Nominatim on 127.0.0.1 that can misbehave on purpose (tests never reach the internet)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PLACES = {
    "doha": [
        {
            "lat": "25.2854",
            "lon": "51.5310",
            "name": "Doha",
            "display_name": "Doha, Qatar",
            "addresstype": "city",
            "importance": 0.7,
            "address": {"country_code": "qa"},
        }
    ],
    "kabul": [
        {
            "lat": "34.5281",
            "lon": "69.1723",
            "name": "Kabul",
            "display_name": "Kabul, Afghanistan",
            "addresstype": "city",
            "importance": 0.7,
            "address": {"country_code": "af"},
        }
    ],
}


class FakeNominatim:
    """``mode``: "ok", "429", "500", "slow", "garbage". ``requests`` counts every hit."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[str] = []
        self.user_agents: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                query = parse_qs(urlparse(self.path).query).get("q", [""])[0]
                fake.requests.append(query)
                fake.user_agents.append(self.headers.get("User-Agent", ""))
                if fake.mode == "429":
                    return self._send(429, b"Too Many Requests", "text/plain")
                if fake.mode == "500":
                    return self._send(503, b"Service Unavailable", "text/plain")
                if fake.mode == "slow":
                    time.sleep(2.0)
                if fake.mode == "garbage":
                    return self._send(200, b"<html>not json", "application/json")
                body = json.dumps(PLACES.get(query.lower(), [])).encode()
                return self._send(200, body, "application/json")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeNominatim:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
