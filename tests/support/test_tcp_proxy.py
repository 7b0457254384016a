#!/usr/bin/env python3
"""Self-test of tcp_proxy.py against an echo server on loopback: every rule must do exactly what
the fault tests rely on (bytes forwarded before a cut, the stall's delay, refusal during an
outage and recovery after it, the statistics file). Exit 1 on any failure."""

import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tcp_proxy  # noqa: E402

failures = []


def check(condition, what, detail=""):
    print(f"  {'ok  ' if condition else 'FAIL'}  {what}" + (f"  ({detail})" if not condition and detail else ""),
          flush=True)
    if not condition:
        failures.append(what)


class EchoHandler(socketserver.BaseRequestHandler):
    """Echoes everything; records how many bytes each connection delivered to the server."""

    def handle(self):
        received = 0
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                received += len(data)
                self.request.sendall(data)
        except OSError:
            pass
        finally:
            self.server.received.append(received)
            self.server.finished.release()


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.received = []
        self.finished = threading.Semaphore(0)

    def wait_connection(self, timeout=5):
        """The bytes the next finished server-side connection received."""
        if not self.finished.acquire(timeout=timeout):
            return None
        return self.received[-1]


def exchange(port, payload, expect=None, timeout=5):
    """Sends payload, reads until `expect` bytes came back, EOF or an error.
    Returns (bytes received, error name or None)."""
    expect = len(payload) if expect is None else expect
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sender = threading.Thread(target=lambda: _send_quietly(sock, payload))
            sender.start()
            while len(got) < expect:
                data = sock.recv(65536)
                if not data:
                    sender.join()
                    return got, "eof"
                got += data
            sender.join()
        except (ConnectionError, OSError) as error:
            return got, type(error).__name__
    return got, None


def _send_quietly(sock, payload):
    try:
        sock.sendall(payload)
    except OSError:
        pass


def connect_error(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return None
    except OSError as error:
        return type(error).__name__


def main():
    workdir = tempfile.mkdtemp(prefix="offsite-tcp-proxy-")
    echo = EchoServer()
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    target = ("127.0.0.1", echo.server_address[1])
    payload = os.urandom(1 << 20)
    try:
        print("passthrough")
        with tcp_proxy.ProxyProcess(target, workdir) as proxy:
            got, error = exchange(proxy.port, payload)
            check(got == payload and error is None, "1 MiB echoes through unchanged", error)
            check(echo.wait_connection() == len(payload), "the server received every byte")
            stats = proxy.stats()
            first = stats["connections"][0]
            check(first["up"] == len(payload) and first["down"] == len(payload) and first["cut"] is None,
                  "stats count 1 MiB up and down, no cut", first)

        print("cut upstream, first connection only")
        with tcp_proxy.ProxyProcess(target, workdir, cut_up=1000, cut_connections=1) as proxy:
            got, error = exchange(proxy.port, payload[:5000])
            check(error is not None and len(got) <= 1000, "the first connection breaks",
                  f"{len(got)} bytes, {error}")
            check(echo.wait_connection() == 1000, "exactly 1000 bytes reached the server")
            got, error = exchange(proxy.port, payload[:5000])
            check(got == payload[:5000] and error is None, "the second connection is not cut", error)
            echo.wait_connection()
            stats = proxy.stats()
            cuts = [c["cut"] for c in stats["connections"]]
            check(cuts == ["cut_up", None] and stats["totals"]["cuts"] == 1,
                  "stats: first cut upstream, second untouched", cuts)
            check(stats["connections"][0]["up"] == 1000, "stats: 1000 bytes up on the cut one")

        print("cut downstream, at most one cut, FIN style")
        with tcp_proxy.ProxyProcess(target, workdir, cut_down=3000, max_cuts=1,
                                    cut_style="fin") as proxy:
            got, error = exchange(proxy.port, payload[:5000])
            check(len(got) == 3000 and error == "eof", "the client gets exactly 3000 bytes then EOF",
                  f"{len(got)} bytes, {error}")
            echo.wait_connection()
            got, error = exchange(proxy.port, payload[:5000])
            check(got == payload[:5000], "after max_cuts, connections pass", error)
            echo.wait_connection()
            proxy.set(max_cuts=0, cut_down=10)
            got, error = exchange(proxy.port, payload[:100])
            check(len(got) == 10, "a rule set at runtime applies to the next connection", len(got))
            echo.wait_connection()

        print("stall")
        with tcp_proxy.ProxyProcess(target, workdir, stall_up=100, stall_seconds=0.6) as proxy:
            started = time.monotonic()
            got, error = exchange(proxy.port, payload[:1000])
            elapsed = time.monotonic() - started
            check(got == payload[:1000] and 0.55 <= elapsed < 3, "a 0.6 s stall after 100 bytes",
                  f"{elapsed:.2f}s, {error}")
            echo.wait_connection()
            check(proxy.stats()["connections"][0]["stalled"], "stats mark the stall")

        print("outages")
        with tcp_proxy.ProxyProcess(target, workdir) as proxy:
            held = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
            held.sendall(b"x")
            check(held.recv(1) == b"x", "a connection open before the outage works")
            proxy.outage("refuse")
            check(connect_error(proxy.port) == "ConnectionRefusedError",
                  "refuse: new connections are refused")
            try:
                held.sendall(b"y")
                held_error = None if held.recv(1) else "eof"
            except OSError as error:
                held_error = type(error).__name__
            check(held_error is not None, "refuse: the open connection was reset", held_error)
            held.close()
            echo.wait_connection()
            proxy.end_outage()
            got, error = exchange(proxy.port, b"after")
            check(got == b"after", "after the outage connections work again", error)
            echo.wait_connection()

            proxy.outage("refuse", 0.5)
            check(connect_error(proxy.port) == "ConnectionRefusedError", "a timed outage refuses")
            time.sleep(0.8)
            check(connect_error(proxy.port) is None, "and ends by itself after its period")
            echo.wait_connection()

            proxy.process.send_signal(signal.SIGUSR1)
            time.sleep(0.2)
            check(connect_error(proxy.port) == "ConnectionRefusedError", "SIGUSR1 starts an outage")
            proxy.process.send_signal(signal.SIGUSR2)
            time.sleep(0.2)
            check(connect_error(proxy.port) is None, "SIGUSR2 ends it")
            echo.wait_connection()

            proxy.outage("reset")
            got, error = exchange(proxy.port, b"z")
            check(error is not None and got == b"", "reset: connections are accepted then reset", error)

            proxy.end_outage()
            held = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
            proxy.outage("blackhole")
            held.sendall(b"held")
            held.settimeout(0.4)
            try:
                early = held.recv(16)
            except socket.timeout:
                early = None
            check(early is None, "blackhole: nothing comes back", early)
            proxy.end_outage()
            held.settimeout(3)
            check(held.recv(16) == b"held", "after the blackhole the held data flows")
            held.close()
            echo.wait_connection()

            result = subprocess.run([sys.executable, tcp_proxy.__file__, "ctl", proxy.control_path,
                                     "stats"], capture_output=True, text=True, timeout=10)
            check(result.returncode == 0 and json.loads(result.stdout)["port"] == proxy.port,
                  "the ctl subcommand drives it from a shell", result.stderr)
            try:
                proxy.command("set nonsense=1")
                check(False, "an unknown rule is rejected")
            except RuntimeError:
                check(True, "an unknown rule is rejected")
        with open(proxy.stats_path) as source:
            on_disk = json.load(source)
        check(on_disk["totals"]["refused"] == 1 and on_disk["totals"]["connections"] >= 5,
              "the stats file holds the run's totals", on_disk["totals"])
        check(proxy.process.returncode == 0 and not os.path.exists(proxy.control_path),
              "SIGTERM stops it cleanly", proxy.process.returncode)
    finally:
        echo.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        print(f"tcp_proxy: {len(failures)} check(s) FAILED")
        sys.exit(1)
    print("tcp_proxy: all checks passed")


if __name__ == "__main__":
    main()
