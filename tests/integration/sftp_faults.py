#!/usr/bin/env python3
"""sftp_faults: `offsite sync` to SFTP through a loopback proxy that breaks connections.

Usage: sftp_faults.py OFFSITE_EXE

A private sshd (tests/servers/sshd.py) behind tests/support/tcp_proxy.py (BRIEF §9 "Network
faults", §5.7):
  - cuts: every connection is reset after 3 x chunk_size + 1 MiB upstream. The sync completes,
    the mirror equals the repository, and the bytes the proxy forwarded upstream exceed the
    payload by at most two chunks per cut (plus SSH framing and handshakes);
  - stalls: every connection stops forwarding for a while after some bytes; the SSH socket wait
    gives up (OFFSITE_TEST_SSH_TIMEOUT_MS), reconnects and resumes; the sync completes;
  - an outage shorter than retry_budget (connections refused for 3 s) ends in success;
  - an outage longer than retry_budget (a blackhole, retry_budget 5s) ends in a clear failure
    within the budget + 30 s; after it ends, the next sync succeeds and verify --deep passes.
"""

import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import common  # noqa: E402
import tcp_proxy  # noqa: E402
from common import log  # noqa: E402
from sshd import Sshd  # noqa: E402

MIB = 1 << 20
CHUNK = 4 * MIB


def main():
    exe = sys.argv[1]
    checks = common.Checks("sftp_faults")
    rng = random.Random(11)
    server = Sshd()
    common.on_exit(server.stop)
    server.start()
    base = common.temp_dir("sftp-faults")
    repository = os.path.join(base, "repository")
    state_dir = os.path.join(base, "state")
    target = os.path.join(server.root, "target")
    os.makedirs(target)
    mirror = os.path.join(target, "Site")
    common.write_file(f"{repository}/PC-0001/Daily/full-01.img", 40 * MIB + 12345, rng)
    for day in range(1, 6):
        common.write_file(f"{repository}/PC-0001/Daily/incr-0{day}.img", rng.randint(10_000, 900_000), rng)
    payload = sum(v[0] for v in common.snapshot(repository).values())

    proxy = tcp_proxy.ProxyProcess(("127.0.0.1", server.port), base)
    common.on_exit(proxy.stop)
    known_hosts = os.path.join(base, "known_hosts")
    with open(known_hosts, "w") as out:
        out.write(server.known_hosts_lines().replace(f"[127.0.0.1]:{server.port}", f"[127.0.0.1]:{proxy.port}"))

    def configure(retry_budget, bandwidth="0"):
        path = os.path.join(base, f"offsite-{retry_budget}.toml")
        common.write_config(path, state_dir=state_dir, repositories=[{
            "name": "main", "path": repository, "folder": "Site", "chunk_size": "4MiB", "concurrency": 2,
            "retry_budget": retry_budget, "bandwidth_limit": bandwidth,
            "target": {"type": "sftp", "host": "127.0.0.1", "port": proxy.port, "path": target,
                       "username": server.user, "private_key": server.client_key, "known_hosts": known_hosts}}])
        return common.Offsite(exe, path)

    patient = configure("2m")
    quick_timeout = {"OFFSITE_TEST_SSH_TIMEOUT_MS": "1500"}

    log("== every connection cut after 3 x chunk_size + 1 MiB upstream")
    proxy.set(cut_up=3 * CHUNK + MIB)
    proxy.command("reset-stats")
    result = patient.run("sync", "main", "--json", timeout=240)
    stats = proxy.stats()
    checks.ok(result.rc == 0, "the sync through cuts exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "after the cuts")
    cuts = stats["totals"]["cuts"]
    sent = stats["totals"]["up"]
    # SSH framing adds well under 1% at 30,000-byte packets; each connection's handshake and
    # login take a few KiB.
    allowance = cuts * 2 * CHUNK + payload // 100 + stats["totals"]["connections"] * 16 * 1024
    checks.ok(cuts >= 3, f"the proxy cut {cuts} connection(s) (at least 3)", json.dumps(stats["totals"]))
    checks.ok(sent <= payload + allowance,
              f"resent at most two chunks per cut: {sent} bytes forwarded for {payload} of payload, {cuts} cuts "
              f"(limit {payload + allowance})", json.dumps(stats["totals"]))
    common.verify_deep(checks, patient, "main", " (after the cuts)")

    log("== every connection stalls after 5 MiB upstream, for longer than the socket wait allows")
    proxy.set(cut_up=0, stall_up=5 * MIB, stall_seconds=4)
    proxy.command("reset-stats")
    common.rewrite_in_place(f"{repository}/PC-0001/Daily/full-01.img", rng)
    result = patient.run("sync", "main", env=quick_timeout, timeout=240)
    stalled = sum(1 for connection in proxy.stats()["connections"] if connection["stalled"])
    checks.ok(stalled >= 2, f"{stalled} connection(s) stalled (at least 2)", json.dumps(proxy.stats()["totals"]))
    checks.ok(result.rc == 0, "the sync through stalls exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "after the stalls")
    proxy.set(stall_up=0)

    log("== an outage shorter than retry_budget")
    common.write_file(f"{repository}/PC-0001/Daily/incr-06.img", 3 * MIB, rng)
    proxy.outage("refuse", 3)
    started = time.monotonic()
    result = patient.run("sync", "main", env=quick_timeout, timeout=240)
    checks.ok(result.rc == 0, f"a 3 s outage within a 2 min budget: the sync succeeds ({time.monotonic() - started:.1f}s)",
              result.describe())
    common.mirror_checks(checks, repository, mirror, "after the short outage")

    log("== an outage longer than retry_budget")
    budget = 5
    impatient = configure(f"{budget}s", "8MiB/s")  # the 40 MiB upload lasts 5 s: the outage hits it
    common.rewrite_in_place(f"{repository}/PC-0001/Daily/full-01.img", rng)
    process = impatient.start("sync", "main", env=quick_timeout)
    time.sleep(0.8)
    proxy.outage("blackhole")
    outage_started = time.monotonic()
    result = common.finish(process, timeout=budget + 60)
    took = time.monotonic() - outage_started
    proxy.end_outage()
    checks.ok(result.rc == 1, "the sync fails (exit 1)", result.describe())
    checks.ok(took <= budget + 30, f"within the budget + 30 s ({took:.1f}s after the outage began)", result.describe())
    checks.ok("gave up after" in result.output or "no answer from the server" in result.output,
              "the error says why (retries given up, no answer from the server)", result.describe())
    result = patient.run("sync", "main", timeout=240)
    checks.ok(result.rc == 0, "after the outage the next sync succeeds", result.describe())
    common.mirror_checks(checks, repository, mirror, "after the long outage")
    common.verify_deep(checks, patient, "main", " (after the long outage)")
    checks.finish()


if __name__ == "__main__":
    main()
