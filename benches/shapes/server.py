#!/usr/bin/env python3
"""A service loadgate's code knows nothing of, for the gate-accuracy benchmark.

One asyncio event loop (no threads, so no GIL hand-offs in the latencies), HTTP/1.1 keep-alive, on
127.0.0.1 (port 0 unless --port); prints its port on the first line of stdout. Every service time is
multiplied by --factor, so a regression is produced by the service itself, not by scaling
histograms afterwards: a wait is ×factor, and a CPU-bound request spins for ×factor the whole time
the server spent on it, parsing included (a CPU-bound service on one event loop delays the requests
queued behind it too, as a real one does):

  GET /health                 200 at once
  GET /sleep?ms=M             waits M ms (±5% uniform jitter)                  latency modes
  GET /tail?ms=M&sigma=S      waits a log-normal time with median M ms          heavy tail
  GET /spin?us=U              burns U µs of CPU (no wait)                       sub-millisecond

/tail waits in a worker thread (time.sleep, exact to tens of µs), not on the event loop: the loop's
timer rounds every wait up to a whole millisecond, which turned a ×1.1 build's 0.97 ms p5 wait into
2 ms (+27% at the client) instead of +10%. A regression must be ×factor at every quantile.
"""
import argparse
import asyncio
import concurrent.futures
import math
import random
import sys
import time
from urllib.parse import parse_qs, urlparse

BODY = b'{"ok":true}'
# Enough sleepers for every shape's users (tail: 32); a sleeping thread holds no GIL.
SLEEPERS = concurrent.futures.ThreadPoolExecutor(max_workers=64)


def respond(status, body=b""):
    reason = {200: "OK", 404: "Not Found", 400: "Bad Request"}[status]
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def serve(factor, reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            started = time.perf_counter()
            parts = line.decode("latin-1").split()
            length = 0
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            if length:
                await reader.readexactly(length)
            if len(parts) < 2:
                writer.write(respond(400))
                break
            url = urlparse(parts[1])
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/health":
                writer.write(respond(200, BODY))
                await writer.drain()
                continue
            elif url.path == "/sleep":
                ms = float(q.get("ms", "10"))
                await asyncio.sleep(ms * factor * random.uniform(0.95, 1.05) / 1000.0)
            elif url.path == "/tail":
                ms = float(q.get("ms", "5"))
                sigma = float(q.get("sigma", "1.0"))
                t = min(ms * math.exp(random.gauss(0.0, sigma)), 2000.0)
                await asyncio.get_running_loop().run_in_executor(SLEEPERS, time.sleep, t * factor / 1000.0)
            elif url.path == "/spin":
                end = time.perf_counter() + float(q.get("us", "200")) / 1e6
                while time.perf_counter() < end:
                    pass
                # The slower build: everything the server did for this request, × (factor − 1) more.
                end = time.perf_counter() + (time.perf_counter() - started) * (factor - 1.0)
                while time.perf_counter() < end:
                    pass
            else:
                writer.write(respond(404))
                await writer.drain()
                continue
            writer.write(respond(200, BODY))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--factor", type=float, default=1.0)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = await asyncio.start_server(lambda r, w: serve(args.factor, r, w), "127.0.0.1", args.port)
    print(server.sockets[0].getsockname()[1], flush=True)
    sys.stdout.close()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
