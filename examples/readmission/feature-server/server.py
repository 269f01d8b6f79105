"""The feature server of the readmission stack: the 16 standardized features of a patient, by id.

Run (the deployment does): python3 server.py   (listens on $PORT, default 8090)
  GET /healthz                  -> {"status": "ok"}
  GET /features/<patient-id>    -> {"patient": ID, "features": [16 floats]}  (404 for an id that is not a-z0-9-)
Features are derived deterministically from the id (a stand-in for a feature store lookup), so a
client can fetch them and post them to the readmission model's inference endpoint.
"""
import hashlib
import json
import os
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FEATURES = 16
ID = re.compile(r"^[a-z0-9-]{1,64}$")


def features_of(patient: str) -> list[float]:
    digest = hashlib.sha256(patient.encode()).digest()
    # 16 values in [-2, 2): standardized features, as the model was trained on.
    return [round(b / 64 - 2, 4) for b in digest[:FEATURES]]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            return self.answer(200, {"status": "ok"})
        if self.path.startswith("/features/"):
            patient = self.path[len("/features/"):]
            if not ID.match(patient):
                return self.answer(404, {"error": "patient: must be 1 to 64 of a-z, 0-9 and -"})
            return self.answer(200, {"patient": patient, "features": features_of(patient)})
        return self.answer(404, {"error": f"no route {self.path}"})

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # quiet: one line per request is noise in replica logs
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8090"))), Handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
