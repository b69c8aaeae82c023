"""A real HTTP receiver for webhook tests: records every request and answers as told (a list of
status codes to give first, a delay for the first few requests, or down altogether)."""
import http.server
import json
import threading
import time

from conftest import free_port


class Receiver:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.requests = []  # (headers dict with lower-case names, body bytes, monotonic time)
        self.statuses = []  # answered first, one per request; then 204
        self.slow_requests = 0  # this many requests are answered only after `delay` seconds
        self.delay = 0.0
        self.holding = 0  # slow requests received and not yet answered
        self.location = None  # sent as Location with 3xx answers
        self.lock = threading.Lock()
        self.server = None
        self.start()

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                    slow = receiver.slow_requests > 0
                    if slow:
                        receiver.slow_requests -= 1
                if slow:
                    with receiver.lock:
                        receiver.holding += 1
                    time.sleep(receiver.delay)
                    with receiver.lock:
                        receiver.holding -= 1
                self.send_response(status)
                if receiver.location and 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self):
        """Every request's body, parsed, in arrival order."""
        with self.lock:
            return [json.loads(body) for _, body, _ in self.requests]

    def received(self):
        with self.lock:
            return list(self.requests)
