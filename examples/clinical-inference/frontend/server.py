"""The clinical-inference frontend: serves static/ (an HTML form and its script) and nothing else.

Run (the deployment does): python3 server.py   (listens on $PORT, default 8091)
The page calls the inference API through the gateway with a relative URL
(`../clinical-risk/v2/models/clinical-risk/infer` from `/<environment>/clinical-frontend/`), so
frontend and API share one origin and need no CORS.
"""
import os
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")


class Handler(SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = b'{"status": "ok"}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    handler = partial(Handler, directory=STATIC)
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8091"))), handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
