"""A VIES peer for tests: a real HTTP server on 127.0.0.1 that answers the REST call
bbtraining.vat makes (POST {VIES_URL}/check-vat-number), as the EU's service answers it.

`registered` holds the numbers it knows (compact, with country code) and their names; `mode`
makes it misbehave as VIES does: "unavailable" (the member state's system is down: HTTP 200 with
userError MS_UNAVAILABLE), "error" (HTTP 500), "slow" (answers after the client gave up),
"garbage" (not JSON). `requests` records what it was asked.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ViesServer:
    def __init__(self):
        self.registered: dict[str, str] = {}
        self.mode = "normal"
        self.requests: list[dict] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest's output clean
                pass

            def do_POST(self):  # noqa: N802 - http.server API
                if self.path != "/check-vat-number":
                    return self._send(404, {"error": "not found"})
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    asked = json.loads(self.rfile.read(length))
                except ValueError:
                    return self._send(400, {"actionSucceed": False})
                peer.requests.append(asked)
                if peer.mode == "error":
                    return self._send(500, {"actionSucceed": False})
                if peer.mode == "slow":
                    time.sleep(1.5)
                if peer.mode == "garbage":
                    return self._send_raw(200, b"<html>Service tijdelijk niet beschikbaar</html>")
                number = f"{asked.get('countryCode', '')}{asked.get('vatNumber', '')}"
                if peer.mode == "unavailable":
                    return self._send(
                        200,
                        {
                            "countryCode": asked.get("countryCode"),
                            "vatNumber": asked.get("vatNumber"),
                            "valid": False,
                            "userError": "MS_UNAVAILABLE",
                            "name": "---",
                        },
                    )
                known = number in peer.registered
                return self._send(
                    200,
                    {
                        "countryCode": asked.get("countryCode"),
                        "vatNumber": asked.get("vatNumber"),
                        "requestDate": "2026-12-05T10:00:00.000Z",
                        "valid": known,
                        "userError": "VALID" if known else "INVALID",
                        "name": peer.registered.get(number, "---"),
                        "address": "---",
                    },
                )

            def _send(self, status, body):
                self._send_raw(status, json.dumps(body).encode(), "application/json")

            def _send_raw(self, status, data, kind="text/html"):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
