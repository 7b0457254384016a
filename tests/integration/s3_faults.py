#!/usr/bin/env python3
"""s3_faults: the S3 target when the network or the server misbehaves.

Usage: s3_faults.py OFFSITE_EXE

Network, through tests/support/tcp_proxy.py between offsite and the S3 test server:
  - connections cut in the middle of a multipart upload: the sync succeeds and resumes at part
    granularity (at most two parts sent again per cut, by the server's log and the proxy's byte
    counts);
  - an outage shorter than retry_budget is ridden out; one longer than retry_budget fails the
    sync cleanly (exit 1, in about the budget, the endpoint named, no crash), and the next sync
    succeeds with no multipart upload left open.
Bad answers, injected by the server's fault rules:
  - 503 SlowDown on parts and on a PUT: retried, the sync succeeds;
  - 200 with an error body from CompleteMultipartUpload and from CopyObject: never taken for
    success: the sync retries or fails, and the mirror is right after at most one more sync;
  - a completed multipart upload whose answer is lost (connection reset after the work): the
    retried request finds no upload, the object's multipart ETag shows it is ours, the sync succeeds;
  - 403 on DeleteObject: exit 1, the message names the action and says access was denied;
  - malformed XML in a listing: exit 1 with a clear message, no crash.
A stop: SIGTERM while several parts of one file are in flight ends the sync with exit 4 within
10 s (the parts are cancelled and awaited), and the next sync completes the file.
After every case: no multipart upload left open, and the next fault-free sync makes the mirror
equal the repository.
"""

import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import s3_common  # noqa: E402
import tcp_proxy  # noqa: E402  (tests/support, on the path through s3_common)
from common import log  # noqa: E402

MiB = 1 << 20
CHUNK = 5 * MiB


class Case:
    """A repository and a config whose S3 endpoint is the proxy (or the server itself)."""

    def __init__(self, exe, checks, server, base, name, endpoint, **settings):
        self.checks = checks
        self.server = server
        self.name = name
        self.repository = os.path.join(base, name, "repository")
        self.remote = os.path.join(base, name, "remote")
        self.mirror = os.path.join(self.remote, "Site")
        self.prefix = f"{name}/"
        target = s3_common.s3_target(server, name, endpoint=endpoint)
        repository = {"name": name, "path": self.repository, "folder": "Site", "chunk_size": "5MiB",
                      "concurrency": 2, "max_change_percent": 100, "max_delete_percent": 100, "target": target}
        repository.update(settings)
        os.makedirs(self.repository, exist_ok=True)
        config = common.write_config(os.path.join(base, name, "offsite.toml"),
                                     state_dir=os.path.join(base, name, "state"), repositories=[repository])
        self.offsite = s3_common.S3Offsite(exe, config, server, self.remote, self.prefix)

    def sync(self, *args, **kwargs):
        return self.offsite.run("sync", self.name, *args, **kwargs)

    def settle(self, label):
        """One fault-free sync: it must succeed, and leave the mirror right and no upload open."""
        self.server.clear_faults()
        result = self.sync()
        self.checks.ok(result.rc == 0, f"{label}: the next fault-free sync exits 0", result.describe())
        common.mirror_checks(self.checks, self.repository, self.mirror, label)
        left = s3_common.open_uploads(self.server, self.prefix)
        self.checks.ok(not left, f"{label}: no multipart upload is left open", left)


def no_crash(checks, result, label):
    checks.ok(isinstance(result.rc, int) and result.rc >= 0, f"{label}: offsite exited (no crash, no signal)",
              result.describe())


def cuts(exe, checks, server, base, rng):
    log("== connections cut during a multipart upload")
    work = os.path.join(base, "proxy-cuts")
    os.makedirs(work)
    upstream = ("127.0.0.1", server.info["http_port"])
    with tcp_proxy.ProxyProcess(upstream, work) as proxy:
        case = Case(exe, checks, server, base, "cuts", f"http://127.0.0.1:{proxy.port}")
        size = 6 * CHUNK + 1000  # 7 parts
        common.write_file(f"{case.repository}/PC-1/Daily/full.img", size, rng)
        common.write_file(f"{case.repository}/PC-1/Daily/incr.img", 1000, rng)
        result = case.sync()  # creates the remote's metadata through the proxy, no cuts yet
        checks.ok(result.rc == 0, "cuts: a first sync through the proxy exits 0", result.describe())
        common.rewrite_in_place(f"{case.repository}/PC-1/Daily/full.img", rng)
        proxy.command("reset-stats")
        since = server.mark()
        # Each connection is reset after 12 MiB sent, two cuts in all: a part in flight is lost each time.
        proxy.set(cut_up=12 * MiB, max_cuts=2)
        result = case.sync("--json")
        stats = proxy.stats()
        proxy.set(cut_up=0)
        checks.ok(result.rc == 0, "cuts: the sync through a proxy that cuts twice exits 0", result.describe())
        checks.ok(stats["totals"]["cuts"] == 2, "cuts: the proxy did cut two connections", stats["totals"])
        parts = [e for e in s3_common.requests(server, "UploadPart", since=since)]
        good = [e for e in parts if e["status"] == 200]
        sent_again = len(parts) - 7
        checks.ok(len(good) >= 7 and sent_again <= 2 * 2,
                  f"cuts: parts sent {len(parts)} times for 7 parts (at most two again per cut)",
                  [(e["part"], e["status"]) for e in parts])
        checks.ok(stats["totals"]["up"] <= size + 2 * 2 * CHUNK + 2 * MiB,
                  f"cuts: {stats['totals']['up']} bytes went up for a {size}-byte file (at most two parts more per cut)",
                  stats["totals"])
        case.settle("cuts")

        log("== an outage shorter than retry_budget")
        common.rewrite_in_place(f"{case.repository}/PC-1/Daily/full.img", rng)
        proxy.outage("refuse", 2)
        started = time.monotonic()
        result = case.sync()
        checks.ok(result.rc == 0, f"outage: a 2 s outage inside the retry budget is ridden out "
                                  f"(exit 0 after {time.monotonic() - started:.1f}s)", result.describe())
        common.mirror_checks(checks, case.repository, case.mirror, "outage: after a short outage")

    with tcp_proxy.ProxyProcess(upstream, work) as proxy:
        case = Case(exe, checks, server, base, "outage", f"http://127.0.0.1:{proxy.port}", retry_budget="4s")
        common.write_file(f"{case.repository}/PC-1/Daily/full.img", 3 * CHUNK, rng)
        result = case.sync()
        checks.ok(result.rc == 0, "outage: a first sync exits 0", result.describe())
        common.rewrite_in_place(f"{case.repository}/PC-1/Daily/full.img", rng)
        proxy.outage("refuse")
        started = time.monotonic()
        result = case.sync(timeout=120)
        elapsed = time.monotonic() - started
        no_crash(checks, result, "outage beyond retry_budget")
        checks.ok(result.rc == 1 and elapsed < 60,
                  f"outage: beyond retry_budget (4s) the sync fails with exit 1 after {elapsed:.1f}s", result.describe())
        checks.ok(f"127.0.0.1:{proxy.port}" in result.output, "outage: the message names the endpoint", result.describe())
        proxy.end_outage()
        case.settle("outage: after the outage")


def bad_answers(exe, checks, server, base, rng):
    case = Case(exe, checks, server, base, "answers", server.endpoint)
    big = f"{case.repository}/PC-1/Daily/full.img"
    common.write_file(big, CHUNK + CHUNK // 2, rng)  # 2 parts; copied by one CopyObject
    common.write_file(f"{case.repository}/PC-1/Daily/incr-1.img", 2000, rng)
    result = case.sync()
    checks.ok(result.rc == 0, "answers: a first sync exits 0", result.describe())

    log("== 503 SlowDown")
    common.rewrite_in_place(big, rng)
    common.write_file(f"{case.repository}/PC-1/Daily/incr-2.img", 3000, rng)
    since = server.mark()
    server.add_fault(action="UploadPart", mode="status", status=503, count=2)
    server.add_fault(action="PutObject", mode="status", status=503, count=1, prefix=f"{case.prefix}Site/PC-1")
    result = case.sync()
    slow = [e for e in s3_common.requests(server, since=since) if e["status"] == 503]
    checks.ok(result.rc == 0 and len(slow) == 3, f"503 SlowDown ({len(slow)} answers) is retried: the sync exits 0",
              result.describe())
    common.mirror_checks(checks, case.repository, case.mirror, "after SlowDown")

    for action in ("CompleteMultipartUpload", "CopyObject"):
        log(f"== 200 with an error body from {action}")
        common.rewrite_in_place(big, rng)
        server.add_fault(action=action, mode="error200", count=1)
        result = case.sync()
        fired = not any(r["action"] == action for r in server.faults())
        no_crash(checks, result, f"error200 {action}")
        if result.rc == 0:
            common.mirror_checks(checks, case.repository, case.mirror, f"error200 {action}: the sync exited 0, so")
        else:
            checks.ok(result.rc == 1 and "InternalError" in result.output,
                      f"error200 {action}: the sync failed naming the error (InternalError)", result.describe())
        if not fired:
            checks.skip(f"error200 {action}", "this sync made no such request")
            server.clear_faults()
        case.settle(f"error200 {action}")

    log("== a completed upload whose answer is lost")
    common.rewrite_in_place(big, rng)
    server.add_fault(action="CompleteMultipartUpload", mode="drop", count=1)
    result = case.sync()
    no_crash(checks, result, "lost Complete answer")
    checks.ok(result.rc == 0, "lost Complete answer: the sync knows the completed object by its multipart ETag "
              "and succeeds", result.describe())
    common.mirror_checks(checks, case.repository, case.mirror, "lost Complete answer")
    case.settle("lost Complete answer")

    log("== 403 on DeleteObject")
    os.remove(f"{case.repository}/PC-1/Daily/incr-1.img")
    server.add_fault(action="DeleteObject", mode="status", status=403, count=-1)
    server.add_fault(action="DeleteObjects", mode="status", status=403, count=-1)
    result = case.sync()
    denied = "access denied" in result.output.lower() or "accessdenied" in result.output.lower()
    checks.ok(result.rc == 1 and denied and "delete" in result.output.lower(),
              "403 on delete: exit 1, the message names the delete and says access was denied", result.describe())
    case.settle("after 403")

    log("== malformed XML in a listing")
    common.write_file(f"{case.repository}/PC-1/Daily/incr-3.img", 3000, rng)
    server.add_fault(action="ListObjectsV2", mode="malformed", count=-1)
    server.add_fault(action="ListObjects", mode="malformed", count=-1)
    result = case.sync()
    no_crash(checks, result, "malformed XML")
    checks.ok(result.rc == 1 and ("xml" in result.output.lower() or "malformed" in result.output.lower()),
              "malformed XML: exit 1 with a message about the answer", result.describe())
    case.settle("after malformed XML")


def stop_during_parts(exe, checks, server, base, rng):
    """SIGTERM while several parts of one file are in flight (each held up by the server): the
    sync cancels them, waits for them and stops (exit 4); the next sync finishes the upload."""
    log("== SIGTERM while parts of one file are in flight")
    case = Case(exe, checks, server, base, "stop", server.endpoint, concurrency=4)
    big = f"{case.repository}/PC-1/Daily/full.img"
    common.write_file(big, 6 * CHUNK, rng)
    server.clear_faults()
    server.control("stats", "DELETE")
    server.add_fault(action="UploadPart", mode="delay", delay_ms=4000, count=-1)
    process = case.offsite.start("sync", "stop", "--json")
    time.sleep(2.5)
    in_flight = server.control("stats").get("max_parts_in_flight", 0)
    checks.ok(in_flight >= 2, "stop: two or more parts of the file are in flight when the signal comes",
              f"at most {in_flight} at a time")
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    result = common.finish(process, timeout=60)
    stopped_after = time.monotonic() - sent
    server.clear_faults()
    no_crash(checks, result, "stop")
    checks.ok(result.rc == 4 and stopped_after <= 10,
              f"stop: exit 4 within 10 s ({stopped_after:.1f}s, exit {result.rc})", result.describe())
    case.settle("stop")
    common.verify_deep(checks, case.offsite, "stop", " (after the stop)")


def main():
    exe = sys.argv[1]
    checks = common.Checks("s3_faults")
    server = s3_common.start_server()
    s3_common.require_s3_target(exe, server)
    rng = random.Random(23)
    base = common.temp_dir("s3-faults")
    cuts(exe, checks, server, base, rng)
    bad_answers(exe, checks, server, base, rng)
    stop_during_parts(exe, checks, server, base, rng)
    checks.ok(server.alive(), "the server is still up")
    checks.finish()


if __name__ == "__main__":
    main()
