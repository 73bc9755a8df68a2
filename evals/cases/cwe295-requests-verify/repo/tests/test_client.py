import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from partner.client import fetch_status


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "green"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_fetch_status_from_local_server():
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert fetch_status(f"http://127.0.0.1:{server.server_port}/health") == "green"
    finally:
        server.shutdown()
