#!/usr/bin/env python3
"""A service loadgate's code knows nothing of, for the gate-accuracy benchmark.

Serves on 127.0.0.1 (port 0 unless --port) and prints the port on its first line. Every service time
is multiplied by --factor, so a regression is produced by the service itself, not by scaling
histograms afterwards:

  GET /health                 200 at once
  GET /sleep?ms=M             sleeps M ms (±5% uniform jitter)                 latency modes
  GET /tail?ms=M&sigma=S      sleeps a log-normal time with median M ms         heavy tail
  GET /spin?us=U              burns U µs of CPU (no sleep)                      sub-millisecond
"""
import argparse
import math
import random
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--factor", type=float, default=1.0)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    factor = args.factor

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/health":
                pass
            elif url.path == "/sleep":
                ms = float(q.get("ms", "10"))
                time.sleep(ms * factor * random.uniform(0.95, 1.05) / 1000.0)
            elif url.path == "/tail":
                ms = float(q.get("ms", "5"))
                sigma = float(q.get("sigma", "1.0"))
                t = ms * math.exp(random.gauss(0.0, sigma))
                time.sleep(min(t, 2000.0) * factor / 1000.0)
            elif url.path == "/spin":
                us = float(q.get("us", "200")) * factor
                end = time.perf_counter() + us / 1e6
                while time.perf_counter() < end:
                    pass
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b'{"ok":true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
