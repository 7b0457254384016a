#!/usr/bin/env python3
"""A loopback TCP proxy that breaks connections on purpose, for the network fault tests.

It listens on 127.0.0.1:PORT and forwards every connection to a target HOST:PORT, counting the
bytes it forwards in each direction. Rules decide what goes wrong:

  cut     after N bytes upstream (client -> server) and/or downstream, the connection is reset on
          both sides (RST; `--cut-style fin` closes instead). `--cut-connections K` limits the cut
          to the first K connections, `--max-cuts M` to M cuts in all; later ones pass untouched.
  stall   after N bytes in a direction, forwarding in that direction stops for S seconds.
  outage  at runtime, for a period or until ended: `refuse` closes the listener (connect fails
          with ECONNREFUSED), `reset` accepts and resets at once, `blackhole` accepts but forwards
          nothing (not even on existing connections) until the outage ends. `refuse` and `reset`
          also reset the connections already open, as a real outage would; `--keep` spares them.

Rules given on the command line apply from the start; `set` changes them at runtime for the
connections that open afterwards. Control, from a test:
  - a Unix socket (`--control PATH`), one command per connection, one JSON line back:
        set cut_up=N cut_down=N stall_up=N stall_down=N stall_seconds=S cut_connections=K
            max_cuts=M cut_style=rst|fin        (0 or "none" clears a rule)
        outage refuse|reset|blackhole [SECONDS] [keep]      outage off
        kill          reset every open connection
        stats         the statistics as JSON (also written to --stats)
        reset-stats   forget finished connections and zero the counters
    `tcp_proxy.py ctl PATH COMMAND...` sends one from a shell; the Proxy class below from Python.
  - signals: SIGUSR1 starts a `refuse` outage, SIGUSR2 ends any outage, SIGTERM/SIGINT stop.

Statistics (`--stats PATH`, rewritten atomically whenever a connection closes, at every outage
change and at exit): per connection its id, the bytes forwarded up and down, whether and why it
was cut ("cut_up", "cut_down", "kill", "outage", "upstream_refused"), whether it stalled; and
totals. Tests assert from them, e.g. that a resumed upload re-sent at most two chunks per cut.

Startup: once listening, the port is printed ("listening 127.0.0.1:PORT") and written to
`--port-file` (atomically, so its existence means ready). Python 3 standard library only.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

READ_SIZE = 64 * 1024
RULE_KEYS = ("cut_up", "cut_down", "stall_up", "stall_down", "stall_seconds", "cut_connections",
             "max_cuts", "cut_style")


def write_atomically(path, text):
    temporary = f"{path}.tmp.{os.getpid()}"
    with open(temporary, "w") as out:
        out.write(text)
    os.replace(temporary, path)


def reset_socket(writer):
    """Closes with RST rather than FIN: SO_LINGER with a zero timeout, then close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class Connection:
    def __init__(self, number, rules, proxy):
        self.number = number
        self.rules = rules  # a copy taken when the connection opened
        self.proxy = proxy
        self.opened = time.monotonic()
        self.closed = None
        self.bytes = {"up": 0, "down": 0}
        self.cut = None
        self.stalled = False
        self.writers = []

    def as_json(self):
        return {"id": self.number, "up": self.bytes["up"], "down": self.bytes["down"],
                "cut": self.cut, "stalled": self.stalled,
                "seconds": round((self.closed or time.monotonic()) - self.opened, 3),
                "open": self.closed is None}

    def break_off(self, reason, style="rst"):
        if self.cut is None:
            self.cut = reason
        for writer in self.writers:
            if style == "fin":
                writer.transport.close()
            else:
                reset_socket(writer)


class Proxy:
    def __init__(self, args):
        self.listen_port = args.port
        self.target = (args.target_host, args.target_port)
        self.stats_path = args.stats
        self.rules = {key: getattr(args, key) for key in RULE_KEYS}
        self.keep_on_outage = args.keep
        self.server = None
        self.connections = {}
        self.finished = []
        self.next_number = 1
        self.cuts = 0
        self.refused = 0
        self.outage = None  # None | "refuse" | "reset" | "blackhole"
        self.outage_timer = None
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.stopping = asyncio.Event()

    # --- listening -------------------------------------------------------------------------

    async def listen(self):
        self.server = await asyncio.start_server(self.accept, "127.0.0.1", self.listen_port,
                                                 reuse_address=True)
        self.listen_port = self.server.sockets[0].getsockname()[1]

    def stop_listening(self):
        if self.server is not None:
            self.server.close()
            self.server = None

    # --- one connection --------------------------------------------------------------------

    async def accept(self, client_reader, client_writer):
        if self.outage == "reset":
            self.refused += 1
            reset_socket(client_writer)
            return
        connection = Connection(self.next_number, dict(self.rules), self)
        self.next_number += 1
        self.connections[connection.number] = connection
        connection.writers.append(client_writer)
        try:
            await self.flowing.wait()  # a blackhole holds new connections too
            try:
                server_reader, server_writer = await asyncio.open_connection(*self.target)
            except OSError:
                connection.cut = "upstream_refused"
                reset_socket(client_writer)
                return
            connection.writers.append(server_writer)
            if connection.cut is not None:  # killed while waiting
                connection.break_off(connection.cut)
                return
            await asyncio.gather(self.pump(connection, "up", client_reader, server_writer),
                                 self.pump(connection, "down", server_reader, client_writer))
        finally:
            for writer in connection.writers:
                writer.transport.abort() if connection.cut else writer.close()
            connection.closed = time.monotonic()
            del self.connections[connection.number]
            self.finished.append(connection)
            self.write_stats()

    def cut_applies(self, connection):
        rules = connection.rules
        if rules["cut_connections"] and connection.number > rules["cut_connections"]:
            return False
        return not (rules["max_cuts"] and self.cuts >= rules["max_cuts"])

    async def pump(self, connection, direction, reader, writer):
        """Copies one direction, stopping exactly at a cut or stall threshold."""
        rules = connection.rules
        cut_at = rules[f"cut_{direction}"] if self.cut_applies(connection) else 0
        stall_at = rules[f"stall_{direction}"]
        try:
            while True:
                await self.flowing.wait()
                done = connection.bytes[direction]
                limit = READ_SIZE
                for threshold in (cut_at, stall_at):
                    if threshold and done < threshold:
                        limit = min(limit, threshold - done)
                data = await reader.read(limit)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                await self.flowing.wait()  # data read before a blackhole began waits too
                if connection.cut is not None:
                    return
                writer.write(data)
                await writer.drain()
                connection.bytes[direction] += len(data)
                done = connection.bytes[direction]
                if cut_at and done >= cut_at and self.cut_applies(connection):
                    self.cuts += 1
                    connection.break_off(f"cut_{direction}", rules["cut_style"])
                    return
                if stall_at and done == stall_at and not connection.stalled:
                    connection.stalled = True
                    await asyncio.sleep(rules["stall_seconds"])
        except (ConnectionError, OSError):
            if connection.cut is None:
                connection.break_off("peer_reset")

    # --- runtime control -------------------------------------------------------------------

    def kill_all(self, reason):
        for connection in list(self.connections.values()):
            connection.break_off(reason)

    async def start_outage(self, mode, seconds=None, keep=None):
        await self.end_outage(write=False)
        keep = self.keep_on_outage if keep is None else keep
        self.outage = mode
        if mode == "refuse":
            self.stop_listening()
        if mode == "blackhole":
            self.flowing.clear()
        elif not keep:
            self.kill_all("outage")
        if seconds:
            self.outage_timer = asyncio.get_running_loop().call_later(
                seconds, lambda: asyncio.ensure_future(self.end_outage()))
        self.write_stats()

    async def end_outage(self, write=True):
        if self.outage_timer is not None:
            self.outage_timer.cancel()
            self.outage_timer = None
        if self.outage == "refuse":
            await self.listen()
        self.outage = None
        self.flowing.set()
        if write:
            self.write_stats()

    def set_rules(self, assignments):
        for assignment in assignments:
            key, _, value = assignment.partition("=")
            if key not in RULE_KEYS:
                raise ValueError(f"unknown rule {key!r}")
            if key == "cut_style":
                if value not in ("rst", "fin"):
                    raise ValueError("cut_style is rst or fin")
                self.rules[key] = value
            elif key == "stall_seconds":
                self.rules[key] = float(value)
            else:
                self.rules[key] = 0 if value in ("", "none") else int(value)

    async def command(self, words):
        if not words:
            raise ValueError("empty command")
        verb, rest = words[0], words[1:]
        if verb == "set":
            self.set_rules(rest)
        elif verb == "outage":
            if rest and rest[0] == "off":
                await self.end_outage()
            else:
                if not rest or rest[0] not in ("refuse", "reset", "blackhole"):
                    raise ValueError("outage refuse|reset|blackhole [SECONDS] [keep] | off")
                seconds = next((float(word) for word in rest[1:] if word != "keep"), None)
                await self.start_outage(rest[0], seconds, keep=True if "keep" in rest else None)
        elif verb == "kill":
            self.kill_all("kill")
        elif verb == "reset-stats":
            self.finished.clear()
            self.cuts = 0
            self.refused = 0
        elif verb != "stats":
            raise ValueError(f"unknown command {verb!r}")
        return self.stats()

    async def control(self, reader, writer):
        try:
            line = (await reader.readline()).decode().split()
            try:
                answer = {"ok": True, "stats": await self.command(line)}
            except ValueError as error:
                answer = {"ok": False, "error": str(error)}
            writer.write((json.dumps(answer) + "\n").encode())
            await writer.drain()
        finally:
            writer.close()

    # --- statistics ------------------------------------------------------------------------

    def stats(self):
        everything = self.finished + list(self.connections.values())
        everything.sort(key=lambda connection: connection.number)
        return {
            "port": self.listen_port,
            "target": f"{self.target[0]}:{self.target[1]}",
            "rules": self.rules,
            "outage": self.outage,
            "totals": {"connections": len(everything), "open": len(self.connections),
                       "up": sum(c.bytes["up"] for c in everything),
                       "down": sum(c.bytes["down"] for c in everything),
                       "cuts": self.cuts, "refused": self.refused},
            "connections": [connection.as_json() for connection in everything],
        }

    def write_stats(self):
        if self.stats_path:
            write_atomically(self.stats_path, json.dumps(self.stats(), indent=1) + "\n")


async def serve(args):
    proxy = Proxy(args)
    await proxy.listen()
    loop = asyncio.get_running_loop()
    control_server = None
    if args.control:
        if os.path.exists(args.control):
            os.unlink(args.control)
        control_server = await asyncio.start_unix_server(proxy.control, args.control)
    loop.add_signal_handler(signal.SIGUSR1,
                            lambda: asyncio.ensure_future(proxy.start_outage("refuse")))
    loop.add_signal_handler(signal.SIGUSR2, lambda: asyncio.ensure_future(proxy.end_outage()))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, proxy.stopping.set)
    proxy.write_stats()
    print(f"listening 127.0.0.1:{proxy.listen_port} -> {args.target_host}:{args.target_port}",
          flush=True)
    if args.port_file:
        write_atomically(args.port_file, f"{proxy.listen_port}\n")
    await proxy.stopping.wait()
    proxy.stop_listening()
    proxy.kill_all("stopped")
    proxy.flowing.set()
    await asyncio.sleep(0.05)  # let the connection tasks record themselves
    proxy.write_stats()
    if control_server is not None:
        control_server.close()
        os.unlink(args.control)


# ---------------------------------------------------------------------------------------------
# Clients: a shell's `ctl` subcommand and the Proxy class for Python tests.

def send_command(control_path, command, timeout=10):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(control_path)
        sock.sendall((command.strip() + "\n").encode())
        answer = b""
        while not answer.endswith(b"\n"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    reply = json.loads(answer)
    if not reply["ok"]:
        raise RuntimeError(f"tcp_proxy: {command}: {reply['error']}")
    return reply["stats"]


class ProxyProcess:
    """Runs the proxy as a child process (stopped by its PID) and drives it.

        with ProxyProcess(("127.0.0.1", server_port), workdir, cut_up=1 << 20) as proxy:
            ... connect to proxy.port ...; proxy.outage("refuse", 3); proxy.stats()
    """

    def __init__(self, target, workdir, **rules):
        self.workdir = workdir
        self.control_path = os.path.join(workdir, "tcp_proxy.sock")
        self.stats_path = os.path.join(workdir, "tcp_proxy.json")
        port_file = os.path.join(workdir, "tcp_proxy.port")
        if os.path.exists(port_file):
            os.unlink(port_file)  # a previous proxy's: its existence must mean this one is ready
        command = [sys.executable, os.path.abspath(__file__), "--target", f"{target[0]}:{target[1]}",
                   "--port-file", port_file, "--stats", self.stats_path,
                   "--control", self.control_path]
        for key, value in rules.items():
            flag = f"--{key.replace('_', '-')}"
            if isinstance(value, bool):
                command += [flag] if value else []
            else:
                command += [flag, str(value)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("tcp_proxy did not start")
            time.sleep(0.02)
        with open(port_file) as source:
            self.port = int(source.read())

    def command(self, text):
        return send_command(self.control_path, text)

    def set(self, **rules):
        return self.command("set " + " ".join(f"{key}={value}" for key, value in rules.items()))

    def outage(self, mode, seconds=None, keep=False):
        words = ["outage", mode] + ([str(seconds)] if seconds else []) + (["keep"] if keep else [])
        return self.command(" ".join(words))

    def end_outage(self):
        return self.command("outage off")

    def stats(self):
        return self.command("stats")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.stop()


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--port", type=int, default=0, help="listening port (0: pick a free one)")
    parser.add_argument("--port-file", help="write the listening port here once ready")
    parser.add_argument("--stats", help="JSON statistics file")
    parser.add_argument("--control", help="Unix socket path for runtime commands")
    parser.add_argument("--cut-up", type=int, default=0, help="reset after N bytes client->server")
    parser.add_argument("--cut-down", type=int, default=0, help="reset after N bytes server->client")
    parser.add_argument("--cut-connections", type=int, default=0,
                        help="cut only the first K connections (0: all)")
    parser.add_argument("--max-cuts", type=int, default=0, help="cut at most M times (0: no limit)")
    parser.add_argument("--cut-style", choices=("rst", "fin"), default="rst")
    parser.add_argument("--stall-up", type=int, default=0, help="stall after N bytes upstream")
    parser.add_argument("--stall-down", type=int, default=0, help="stall after N bytes downstream")
    parser.add_argument("--stall-seconds", type=float, default=5.0)
    parser.add_argument("--keep", action="store_true",
                        help="refuse/reset outages spare the connections already open")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    args.target_host, args.target_port = host or "127.0.0.1", int(port)
    return args


def main(argv):
    if argv and argv[0] == "ctl":
        if len(argv) < 3:
            sys.exit("usage: tcp_proxy.py ctl CONTROL_SOCKET COMMAND...")
        print(json.dumps(send_command(argv[1], " ".join(argv[2:])), indent=1))
        return
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
