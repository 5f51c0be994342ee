#!/usr/bin/python3
"""Lab stand-in for Mastodon's web (3000) and streaming (4000) processes.

Web answers every request with the security headers Rails sets in production, so the
lab can prove that nginx does not send any of them a second time. Streaming completes a
WebSocket handshake (RFC 6455) and sends one text frame.
"""
import base64
import hashlib
import http.server
import sys
import threading

MASTODON_HEADERS = [
    ("Content-Security-Policy",
     "base-uri 'none'; default-src 'none'; frame-ancestors 'none'; font-src 'self'; img-src 'self' data: blob:; "
     "style-src 'self'; media-src 'self' data:; manifest-src 'self'; form-action 'self'; "
     "child-src 'self' blob:; worker-src 'self' blob:; connect-src 'self' data: blob: wss://fedi; "
     "script-src 'self' 'wasm-unsafe-eval'"),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-XSS-Protection", "0"),
    ("Referrer-Policy", "same-origin"),
]
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Web(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        body = b"<!DOCTYPE html><html><head><title>stub</title></head><body>mastodon stub</body></html>"
        self.send_response(200)
        for name, value in MASTODON_HEADERS:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Streaming(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        key = self.headers.get("Sec-WebSocket-Key")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        payload = b"streaming-ok"
        self.wfile.write(bytes([0x81, len(payload)]) + payload)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def main():
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 3000), Web),
               http.server.ThreadingHTTPServer(("127.0.0.1", 4000), Streaming)]
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    sys.exit(main())
