#!/usr/bin/env python3
"""service: `offsite run` and `offsite backup` as real processes.

Usage: service.py OFFSITE_EXE

Checks (BRIEF §2, §3, §6, §7, §9 "Service"; docs/service.md):
1. schedule: an all-day repository syncs at start (status --json from another process: service
   state idle, last_result success); a repository whose window opens in the next minute or two is
   "waiting for the window" in `status`, `forecast --json` lists that window, it syncs once the
   window opens, and not again inside the same window;
2. a failed first attempt (target path missing) is retried inside the window
   (OFFSITE_TEST_RETRY_SECONDS=2) and succeeds; on_failure got the failed result on stdin; the
   metrics file is 0644 and says the last sync succeeded;
3. backups and syncs: a running `offsite backup` delays `offsite sync`; `backup --no-wait` during a
   sync exits 75; the command's status is passed through (7), a missing command is 127; killing
   the wrapper with SIGKILL keeps the repository locked while its child lives;
4. abandoned: a backup that outlasts the window makes the scheduled sync `abandoned`, on_failure
   runs, the backup is not disturbed and new backups may start again;
5. SIGHUP with a broken config keeps the service running and logs the file and line; SIGHUP with
   a fixed config that adds a repository syncs the new one; the service manager is told READY=1,
   RELOADING=1 and READY=1 again, and STOPPING=1 (sd_notify to a socket of the test's own in
   $NOTIFY_SOCKET: libsystemd is opened at run time, service/notify.cpp);
6. SIGTERM during a throttled scheduled sync: the service exits within 10 s with status 0 (what
   run_daemon returns), the result is incomplete, the next `offsite sync` succeeds and verifies;
7. a failing pre_sync_command fails the sync with its output in the error and no post command;
   a succeeding pre plus a post command: the post command gets the result JSON on stdin;
8. stop_at_window_end: a throttled sync still running at the window's end stops there (outcome
   incomplete), also when the service got a SIGHUP while the sync ran.

Checks 1 and 4 wait for real minute boundaries of the local clock (up to ~2 minutes); the other
checks run while they wait. Every service started here is stopped by its own PID.
"""

import calendar
import glob
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402

RETRY_ENV = {"OFFSITE_TEST_RETRY_SECONDS": "2"}


# ---------------------------------------------------------------------------------------------
# Helpers

def write_config(path, *, state_dir, repositories, service=None):
    """Like common.write_config, with extra [service] keys (metrics_file, on_failure)."""
    lines = ["[service]", f"state_dir = {common.toml_string(state_dir)}", 'log_level = "info"']
    for key, value in (service or {}).items():
        lines.append(f"{key} = {common.toml_value(value)}")
    lines.append("")
    for repository in repositories:
        lines.append("[[repository]]")
        for key, value in repository.items():
            if key != "target":
                lines.append(f"{key} = {inline(value)}")
        lines.append("  [repository.target]")
        for key, value in repository["target"].items():
            lines.append(f"  {key} = {common.toml_value(value)}")
        lines.append("")
    with open(path, "w") as out:
        out.write("\n".join(lines))
    os.chmod(path, 0o600)
    return path


def inline(value):
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {common.toml_value(v)}" for k, v in value.items()) + " }"
    return common.toml_value(value)


class Service:
    """An `offsite run` whose stderr goes to a file (readable while it runs)."""

    def __init__(self, offsite, log_path, env=None):
        self.log_path = log_path
        self.log_file = open(log_path, "wb")
        self.process = subprocess.Popen(offsite.args("run"), env=offsite.env(env), stdin=subprocess.DEVNULL,
                                        stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.process.pid
        common.on_exit(self.kill)

    def alive(self):
        return self.process.poll() is None

    def log_text(self):
        with open(self.log_path, "rb") as source:
            return source.read().decode(errors="replace")

    def stop(self, timeout=30):
        """SIGTERM to this PID; returns (exit status or 'timeout', seconds taken)."""
        if self.process.poll() is not None:
            return self.process.returncode, 0.0
        sent = time.monotonic()
        os.kill(self.pid, signal.SIGTERM)
        try:
            rc = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = "timeout"
            self.kill()
        return rc, time.monotonic() - sent

    def kill(self):
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()
        if not self.log_file.closed:
            self.log_file.close()


class NotifyListener:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET: collects what sd_notify sends."""

    def __init__(self, path):
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(path)
        self.socket.setblocking(False)
        self.messages = []

    def received(self):
        while True:
            try:
                self.messages.append(self.socket.recv(4096).decode(errors="replace"))
            except BlockingIOError:
                return list(self.messages)

    def states(self):
        """READY=1, RELOADING=1, STOPPING=1 in the order received (STATUS= lines left out)."""
        return [m for m in self.received() if not m.startswith("STATUS=")]


def start_backup(offsite, name, *command, no_wait=False):
    """`offsite backup NAME -- CMD` in its own session (its pgid is its pid, so the child can be
    killed with it)."""
    args = ["backup", name] + (["--no-wait"] if no_wait else []) + ["--", *command]
    process = offsite.start(*args)

    def reap_group():
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    common.on_exit(reap_group)
    return process


def state_dir_of(state_dir, name):
    found = glob.glob(os.path.join(state_dir, "repositories", glob.escape(name) + "-*"))
    return found[0] if found else None


def read_json(path):
    try:
        with open(path) as source:
            return json.load(source)
    except (OSError, ValueError):
        return None


def last_result(state_dir, name):
    directory = state_dir_of(state_dir, name)
    return read_json(os.path.join(directory, "last-result.json")) if directory else None


def history_count(state_dir, name):
    directory = state_dir_of(state_dir, name)
    try:
        with open(os.path.join(directory, "history.jsonl")) as source:
            return sum(1 for line in source if line.strip())
    except (OSError, TypeError):
        return 0


def wait_for(predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def wait_result(state_dir, name, timeout, outcome=None, after=0):
    """Waits for a last-result.json (with `outcome`, and with more than `after` history lines)."""
    def ready():
        result = last_result(state_dir, name)
        if not result or history_count(state_dir, name) <= after:
            return None
        if outcome and result.get("outcome") != outcome:
            return None
        return result
    return wait_for(ready, timeout)


def flock_free(lock_path, mode="-x"):
    """True if `flock -n MODE lock_path true` gets the lock now."""
    return subprocess.run(["flock", "-n", mode, lock_path, "true"], stdin=subprocess.DEVNULL,
                          capture_output=True).returncode == 0


def hhmm(epoch):
    return time.strftime("%H:%M", time.localtime(epoch))


def next_boundary(now, at_least):
    """The first local minute boundary at least `at_least` seconds after now."""
    boundary = (int(now) // 60 + 1) * 60
    while boundary - now < at_least:
        boundary += 60
    return boundary


def make_repository(root, rng, files=3, size=40_000, folder="PC-1/Daily"):
    for i in range(files):
        common.write_file(os.path.join(root, folder, f"f{i}.img"), size, rng)


def write_status(text):
    return "\n".join(text.splitlines()[:40])


# ---------------------------------------------------------------------------------------------

def main():
    exe = sys.argv[1]
    checks = common.Checks("service")
    rng = random.Random(11)
    base = common.temp_dir("service")
    target = os.path.join(base, "target")
    os.makedirs(target)

    def repo(name, **extra):
        path = os.path.join(base, "repos", name)
        os.makedirs(path, exist_ok=True)
        entry = {"name": name, "path": path, "folder": name, "chunk_size": "64KiB",
                 "target": {"type": "local", "path": target}}
        entry.update(extra)
        return entry

    # --- Start the two services that wait for real clock minutes (checks 1 and 4) first. ----------
    now = time.time()
    future_start = next_boundary(now, 25)
    future_end = future_start + 120
    abandon_end = next_boundary(now, 30)
    log(f"== check 1 and 4 setup: future window {hhmm(future_start)}-{hhmm(future_end)}, "
        f"abandon window {hhmm(now)}-{hhmm(abandon_end)} (now {time.strftime('%H:%M:%S')})")

    state1 = os.path.join(base, "state1")
    allday = repo("allday")
    future = repo("future", window={"start": hhmm(future_start), "end": hhmm(future_end)})
    make_repository(allday["path"], rng)
    make_repository(future["path"], rng)
    config1 = write_config(os.path.join(base, "one.toml"), state_dir=state1, repositories=[allday, future])
    offsite1 = common.Offsite(exe, config1)
    service1 = Service(offsite1, os.path.join(base, "service1.log"))

    state4 = os.path.join(base, "state4")
    on_failure4 = os.path.join(base, "on_failure4.json")
    abandon = repo("abandon", window={"start": hhmm(now), "end": hhmm(abandon_end)})
    make_repository(abandon["path"], rng)
    config4 = write_config(os.path.join(base, "four.toml"), state_dir=state4, repositories=[abandon],
                           service={"on_failure": ["sh", "-c", f"cat > '{on_failure4}'"]})
    offsite4 = common.Offsite(exe, config4)
    holder = start_backup(offsite4, "abandon", "sleep", "200")
    active4 = os.path.join(abandon["path"], ".offsite", "active.lock")
    held = wait_for(lambda: os.path.exists(active4) and not flock_free(active4), 15)
    checks.ok(held, "4: `offsite backup abandon -- sleep 200` holds active.lock")
    service4 = Service(offsite4, os.path.join(base, "service4.log"))

    # Check 8 setup: two throttled syncs with stop_at_window_end, windows ending at abandon_end; the
    # second service gets a SIGHUP (same config) while its sync runs.
    rate = 256 * 1024
    total = int((abandon_end - time.time() + 60) * rate)
    end_services = {}
    for name in ("atend", "atendhup"):
        entry = repo(name, window={"start": hhmm(now), "end": hhmm(abandon_end)}, stop_at_window_end=True,
                     bandwidth_limit="256KiB/s", concurrency=2)
        for i in range(4):
            common.write_file(os.path.join(entry["path"], f"PC-{i}/Daily/full.img"), total // 4, rng)
        state = os.path.join(base, "state-" + name)
        config = write_config(os.path.join(base, name + ".toml"), state_dir=state, repositories=[entry])
        end_services[name] = (state, Service(common.Offsite(exe, config), os.path.join(base, name + ".log")))

    # --- Check 1, first half: the all-day repository syncs at start. ---------------------------------
    log("== 1. all-day repository syncs at start; a future window waits")
    result = wait_result(state1, "allday", 60)
    checks.ok(result and result.get("outcome") == "success", "1: the all-day repository synced at start",
              json.dumps(result) + "\n" + service1.log_text())
    common.mirror_checks(checks, allday["path"], os.path.join(target, "allday"), "1: all-day")
    status = offsite1.run("status", "--json")
    parsed = status.json() or []
    by_name = {entry.get("repository"): entry for entry in parsed if isinstance(entry, dict)}
    entry = by_name.get("allday", {})
    service_state = (entry.get("service") or {}).get("state")
    idle = wait_for(lambda: ((({e.get("repository"): e for e in (offsite1.run("status", "--json").json() or [])}
                              .get("allday") or {}).get("service") or {}).get("state") == "idle"), 10)
    checks.ok(idle, f"1: status --json shows service.state idle for allday (first read: {service_state})",
              status.describe())
    checks.ok((entry.get("last_result") or {}).get("outcome") == "success",
              "1: status --json shows last_result with outcome success", status.describe())
    status_text = offsite1.run("status", "future")
    checks.ok(status_text.rc == 0 and "waiting for the window" in status_text.stdout,
              "1: `status future` says waiting for the window", status_text.describe())
    forecast = offsite1.run("forecast", "future", "--json", "--days", "2")
    windows = []
    for item in forecast.json() or []:
        if isinstance(item, dict) and item.get("repository") == "future":
            windows = item.get("windows") or []
    expected_start = time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(future_start))
    expected_end = time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(future_end))
    checks.ok(bool(windows) and windows[0].get("start") == expected_start and windows[0].get("end") == expected_end
              and windows[0].get("open_now") is False,
              f"1: forecast --json lists the window {expected_start} - {expected_end}, not open yet",
              forecast.describe())
    checks.ok(last_result(state1, "future") is None, "1: the future repository has not synced before its window")

    hup_state, hup_service = end_services["atendhup"]
    running = wait_for(lambda: state_dir_of(hup_state, "atendhup") and os.path.exists(
        os.path.join(state_dir_of(hup_state, "atendhup"), "progress.json")), 20)
    checks.ok(running and hup_service.alive(), "8: the throttled atendhup sync is running; sending SIGHUP",
              hup_service.log_text())
    os.kill(hup_service.pid, signal.SIGHUP)

    # --- Check 2: retry inside the window. ---------------------------------------------------------
    log("== 2. a failed attempt is retried inside the window")
    state2 = os.path.join(base, "state2")
    missing_target = os.path.join(base, "target2")
    metrics = os.path.join(base, "metrics", "offsite.prom")
    os.makedirs(os.path.dirname(metrics))
    on_failure2 = os.path.join(base, "on_failure2.json")
    retry = repo("retry", target={"type": "local", "path": missing_target})
    make_repository(retry["path"], rng)
    config2 = write_config(os.path.join(base, "two.toml"), state_dir=state2, repositories=[retry],
                           service={"metrics_file": metrics, "on_failure": ["sh", "-c", f"cat > '{on_failure2}'"]})
    offsite2 = common.Offsite(exe, config2)
    service2 = Service(offsite2, os.path.join(base, "service2.log"), env=RETRY_ENV)
    failed = wait_result(state2, "retry", 30, outcome="failed")
    checks.ok(failed is not None and missing_target in (failed or {}).get("error", ""),
              "2: the first attempt failed naming the missing target path", json.dumps(failed) + "\n"
              + service2.log_text())
    os.makedirs(missing_target)
    made_at = time.monotonic()
    notified = wait_for(lambda: read_json(on_failure2), 10)
    checks.ok(isinstance(notified, dict) and notified.get("outcome") == "failed"
              and notified.get("repository") == "retry",
              "2: on_failure got the failed result JSON on stdin", repr(notified))
    succeeded = wait_result(state2, "retry", 20, outcome="success")
    checks.ok(succeeded is not None, f"2: the retry succeeded ({time.monotonic() - made_at:.1f}s after the "
              "target appeared)", service2.log_text())
    checks.ok(history_count(state2, "retry") >= 2, "2: the history holds the failure and the success")
    common.mirror_checks(checks, retry["path"], os.path.join(missing_target, "retry"), "2: after the retry")
    metrics_ok = wait_for(lambda: os.path.exists(metrics) and 'outcome="success"} 1' in open(metrics).read(), 10)
    text = open(metrics).read() if os.path.exists(metrics) else "(no metrics file)"
    checks.ok(metrics_ok and 'offsite_last_sync_success{repository="retry",outcome="success"} 1' in text,
              "2: the metrics file says offsite_last_sync_success{repository=\"retry\",outcome=\"success\"} 1", text)
    mode = os.stat(metrics).st_mode & 0o777 if os.path.exists(metrics) else None
    checks.ok(mode == 0o644, f"2: the metrics file is mode 0644 (got {oct(mode) if mode is not None else None})")
    rc, took = service2.stop()
    checks.ok(rc == 0, f"2: the service stops on SIGTERM with status 0 (got {rc} after {took:.1f}s)")

    # --- Check 3: backups and syncs. --------------------------------------------------------------
    log("== 3. backup coordination")
    state3 = os.path.join(base, "state3")
    coord = repo("coord")
    make_repository(coord["path"], rng, files=4, size=1_000_000)
    config3 = write_config(os.path.join(base, "three.toml"), state_dir=state3, repositories=[coord])
    slow3 = dict(coord, bandwidth_limit="1MiB/s")
    config3_slow = write_config(os.path.join(base, "three-slow.toml"), state_dir=state3, repositories=[slow3])
    offsite3 = common.Offsite(exe, config3)
    offsite3_slow = common.Offsite(exe, config3_slow)
    gate3 = os.path.join(coord["path"], ".offsite", "gate.lock")
    active3 = os.path.join(coord["path"], ".offsite", "active.lock")

    backup = start_backup(offsite3, "coord", "sleep", "5")
    wait_for(lambda: os.path.exists(active3) and not flock_free(active3), 10)
    sync = offsite3.start("sync", "coord")
    backup_result = common.finish(backup, timeout=30)
    backup_end = time.monotonic()
    sync_result = common.finish(sync, timeout=120)
    sync_end = sync.started_at + sync_result.elapsed
    checks.ok(backup_result.rc == 0, "3: `backup coord -- sleep 5` exits 0", backup_result.describe())
    checks.ok(sync_result.rc == 0 and sync_end >= backup_end - 0.3,
              f"3: the sync started during the backup finished after it (sync ended "
              f"{sync_end - backup_end:+.1f}s from the backup's end)", sync_result.describe())

    common.write_file(os.path.join(coord["path"], "PC-2/Daily/big.img"), 4_000_000, rng)
    sync = offsite3_slow.start("sync", "coord")
    gated = wait_for(lambda: sync.poll() is not None or not flock_free(gate3, "-s"), 15, interval=0.1)
    if checks.ok(gated and sync.poll() is None, "3: the throttled sync holds gate.lock"):
        no_wait = offsite3.run("backup", "coord", "--no-wait", "--", "true", timeout=30)
        checks.ok(no_wait.rc == 75, f"3: `backup --no-wait -- true` during the sync exits 75 (got {no_wait.rc})",
                  no_wait.describe())
    sync_result = common.finish(sync, timeout=120)
    checks.ok(sync_result.rc == 0, "3: the throttled sync exits 0", sync_result.describe())
    common.mirror_checks(checks, coord["path"], os.path.join(target, "coord"), "3: after the throttled sync")

    seven = offsite3.run("backup", "coord", "--", "sh", "-c", "exit 7", timeout=30)
    checks.ok(seven.rc == 7, f"3: `backup -- sh -c 'exit 7'` returns 7 (got {seven.rc})", seven.describe())
    missing = offsite3.run("backup", "coord", "--", "/nonexistent/offsite-no-such-command", timeout=30)
    checks.ok(missing.rc == 127, f"3: a missing command returns 127 (got {missing.rc})", missing.describe())
    bare_missing = offsite3.run("backup", "coord", "--", "offsite-no-such-command-xyz", timeout=30)
    checks.ok(bare_missing.rc == 127, f"3: a missing command found through PATH returns 127 (got {bare_missing.rc})",
              bare_missing.describe())

    wrapper = start_backup(offsite3, "coord", "sleep", "60")
    locked = wait_for(lambda: os.path.exists(active3) and not flock_free(active3), 10)
    checks.ok(locked, "3: the backup holds active.lock")
    wrapper.kill()  # SIGKILL to the wrapper's own PID only; its sleep child lives on
    wrapper.wait()
    time.sleep(0.5)
    checks.ok(not flock_free(active3), "3: after SIGKILL of the wrapper, its child still holds the repository "
              "(flock -n -x active.lock fails)")
    os.killpg(wrapper.pid, signal.SIGKILL)  # the child, in the wrapper's session
    freed = wait_for(lambda: flock_free(active3), 10)
    checks.ok(freed, "3: once the child ends, active.lock is free")

    # --- Check 7: pre/post commands (a service with two all-day repositories). -------------------
    log("== 7. pre_sync_command and post_sync_command")
    state7 = os.path.join(base, "state7")
    post_bad = os.path.join(base, "post-bad.json")
    post_good = os.path.join(base, "post-good.json")
    pre_fail = repo("prefail", pre_sync_command=["sh", "-c", "echo nope >&2; exit 3"],
                    post_sync_command=["sh", "-c", f"cat > '{post_bad}'"])
    pre_good = repo("pregood", pre_sync_command=["true"], post_sync_command=["sh", "-c", f"cat > '{post_good}'"])
    make_repository(pre_fail["path"], rng)
    make_repository(pre_good["path"], rng)
    config7 = write_config(os.path.join(base, "seven.toml"), state_dir=state7, repositories=[pre_fail, pre_good])
    offsite7 = common.Offsite(exe, config7)
    service7 = Service(offsite7, os.path.join(base, "service7.log"))
    bad = wait_result(state7, "prefail", 30)
    good = wait_result(state7, "pregood", 30)
    error = (bad or {}).get("error") or ""
    checks.ok(bad is not None and bad.get("outcome") == "failed" and "nope" in error and "3" in error,
              f"7: a failing pre_sync_command fails the sync with its output in the error ({error!r})",
              json.dumps(bad) + "\n" + service7.log_text())
    checks.ok(not os.path.exists(os.path.join(target, "prefail")), "7: nothing was synced after the failed pre command")
    checks.ok(good is not None and good.get("outcome") == "success", "7: with a succeeding pre command the sync succeeds",
              json.dumps(good))
    posted = wait_for(lambda: read_json(post_good), 10)
    checks.ok(isinstance(posted, dict) and posted.get("outcome") == "success" and posted.get("repository") == "pregood"
              and posted.get("generation") == (good or {}).get("generation"),
              "7: the post_sync_command got the result JSON on stdin", repr(posted))
    time.sleep(1)
    checks.ok(not os.path.exists(post_bad), "7: post_sync_command did not run after the failed pre command")
    rc, took = service7.stop()
    checks.ok(rc == 0, f"7: the service stops on SIGTERM with status 0 (got {rc} after {took:.1f}s)")

    # --- Check 5: SIGHUP. ---------------------------------------------------------------------
    log("== 5. SIGHUP with a broken, then a fixed config")
    state5 = os.path.join(base, "state5")
    hup1 = repo("hup1")
    hup2 = repo("hup2")
    make_repository(hup1["path"], rng)
    make_repository(hup2["path"], rng)
    config5 = os.path.join(base, "five.toml")
    write_config(config5, state_dir=state5, repositories=[hup1])
    offsite5 = common.Offsite(exe, config5)
    notify5 = NotifyListener(os.path.join(base, "notify5.sock"))
    service5 = Service(offsite5, os.path.join(base, "service5.log"), env={"NOTIFY_SOCKET": notify5.path})
    checks.ok(wait_result(state5, "hup1", 30, outcome="success") is not None, "5: hup1 synced at start",
              service5.log_text())
    checks.ok(notify5.states() == ["READY=1"] and any(m.startswith("STATUS=") for m in notify5.received()),
              "5: the service manager was told READY=1 and a STATUS", repr(notify5.received()))
    with open(config5) as source:
        good_text = source.read()
    broken = good_text.splitlines()
    broken_line = 3
    broken.insert(broken_line - 1, "this is = = not toml")
    with open(config5, "w") as out:
        out.write("\n".join(broken) + "\n")
    os.kill(service5.pid, signal.SIGHUP)
    logged = wait_for(lambda: "reload" in service5.log_text() and "five.toml" in service5.log_text(), 10)
    time.sleep(1)
    text = service5.log_text()
    reload_lines = [line for line in text.splitlines() if "reload" in line or "five.toml" in line]
    checks.ok(service5.alive(), "5: the service still runs after SIGHUP with a broken config", text)
    checks.ok(bool(logged) and any(f"five.toml:{broken_line}:" in line for line in reload_lines),
              f"5: the log names the file and line {broken_line} of the error", "\n".join(reload_lines) or text)
    write_config(config5, state_dir=state5, repositories=[hup1, hup2])
    os.kill(service5.pid, signal.SIGHUP)
    synced = wait_result(state5, "hup2", 30, outcome="success")
    checks.ok(synced is not None, "5: after SIGHUP with a fixed config, the added repository syncs",
              service5.log_text())
    common.mirror_checks(checks, hup2["path"], os.path.join(target, "hup2"), "5: hup2")
    checks.ok(history_count(state5, "hup1") == 1, "5: the reload did not sync hup1 again in its window")
    rc, took = service5.stop()
    checks.ok(rc == 0, f"5: the service stops on SIGTERM with status 0 (got {rc} after {took:.1f}s)")
    # Two reloads (the broken config keeps the old one running, so it is ready again too), then the stop.
    checks.ok(notify5.states() == ["READY=1", "RELOADING=1", "READY=1", "RELOADING=1", "READY=1", "STOPPING=1"],
              "5: sd_notify told READY, RELOADING and READY for each SIGHUP, then STOPPING", repr(notify5.received()))

    # --- Check 6: SIGTERM during a throttled scheduled sync. --------------------------------------
    log("== 6. SIGTERM during a throttled sync of the service")
    state6 = os.path.join(base, "state6")
    term = repo("term", concurrency=2)
    for i in range(4):
        common.write_file(os.path.join(term["path"], f"PC-{i}/Daily/full.img"), 2 * 1024 * 1024, rng)
    config6_slow = write_config(os.path.join(base, "six-slow.toml"), state_dir=state6,
                                repositories=[dict(term, bandwidth_limit="1MiB/s")])
    config6 = write_config(os.path.join(base, "six.toml"), state_dir=state6, repositories=[term])
    offsite6 = common.Offsite(exe, config6)
    service6 = Service(common.Offsite(exe, config6_slow), os.path.join(base, "service6.log"))
    progress = lambda: (state_dir_of(state6, "term") and os.path.exists(  # noqa: E731
        os.path.join(state_dir_of(state6, "term"), "progress.json")))
    syncing = wait_for(progress, 20)
    time.sleep(1.5)
    if checks.ok(syncing and service6.alive() and last_result(state6, "term") is None,
                 "6: the service's throttled sync is running", service6.log_text()):
        rc, took = service6.stop(timeout=30)
        checks.ok(rc != "timeout" and took <= 10, f"6: SIGTERM stops the service within 10 s ({took:.2f}s)",
                  service6.log_text())
        checks.ok(rc == 0, f"6: the service exits with status 0 after SIGTERM (got {rc})", service6.log_text())
        stopped = last_result(state6, "term") or {}
        checks.ok(stopped.get("outcome") == "incomplete", f"6: the recorded outcome is incomplete "
                  f"(got {stopped.get('outcome')})", json.dumps(stopped))
    else:
        service6.kill()
    after = offsite6.run("sync", "term")
    checks.ok(after.rc == 0, "6: the next `offsite sync` exits 0", after.describe())
    common.mirror_checks(checks, term["path"], os.path.join(target, "term"), "6: after the next sync")
    common.verify_deep(checks, offsite6, "term", " (after SIGTERM)")

    # --- Check 4: abandoned (its window ends at abandon_end). --------------------------------------
    log(f"== 4. a backup outlasting the window: abandoned (window ends {hhmm(abandon_end)}, "
        f"{abandon_end - time.time():.0f}s from now)")
    abandoned = wait_result(state4, "abandon", max(0, abandon_end - time.time()) + 30)
    ended_at = time.time()
    checks.ok(abandoned is not None and abandoned.get("outcome") == "abandoned",
              f"4: the scheduled sync is abandoned (got {(abandoned or {}).get('outcome')})",
              json.dumps(abandoned) + "\n" + service4.log_text())
    checks.ok(abandoned is None or ended_at >= abandon_end - 1,
              f"4: it was abandoned at the window's end, not before ({ended_at - abandon_end:+.1f}s)")
    notified = wait_for(lambda: read_json(on_failure4), 10)
    checks.ok(isinstance(notified, dict) and notified.get("outcome") == "abandoned",
              "4: on_failure got the abandoned result on stdin", repr(notified))
    checks.ok(holder.poll() is None and not flock_free(active4), "4: the backup was not disturbed (still running, "
              "still holding active.lock)")
    checks.ok(not os.path.exists(os.path.join(target, "abandon", "PC-1")), "4: nothing was uploaded")
    start_again = offsite4.run("backup", "abandon", "--no-wait", "--", "true", timeout=30)
    checks.ok(start_again.rc == 0, f"4: a new backup may start after the abandon (got {start_again.rc})",
              start_again.describe())
    checks.ok(service4.alive(), "4: the service still runs", service4.log_text())
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait()
    rc, took = service4.stop()
    checks.ok(rc == 0, f"4: the service stops on SIGTERM with status 0 (got {rc} after {took:.1f}s)")

    # --- Check 8: stop_at_window_end, also after a SIGHUP during the sync. ---------------------------
    log("== 8. stop_at_window_end stops a sync at the window's end (also after a SIGHUP mid-sync)")
    hup_state, hup_service = end_services["atendhup"]
    for name, (state, service) in end_services.items():
        result = wait_result(state, name, max(0, abandon_end - time.time()) + 15)
        late = time.time() - abandon_end
        label = "after a SIGHUP during the sync" if name == "atendhup" else "without a reload"
        checks.ok(result is not None and result.get("outcome") == "incomplete",
                  f"8: {label}: the sync stops at the window's end with outcome incomplete (got "
                  f"{(result or {}).get('outcome', 'still running')} {late:+.0f}s after the end)",
                  json.dumps(result) + "\n" + "\n".join(service.log_text().splitlines()[-8:]))
        rc, took = service.stop()
        checks.ok(rc == 0, f"8: {name}: the service stops on SIGTERM with status 0 (got {rc} after {took:.1f}s)")

    # --- Check 1, second half: the future window opens. ------------------------------------------
    log(f"== 1. the window {hhmm(future_start)} opens ({future_start - time.time():.0f}s from now)")
    opened = wait_result(state1, "future", max(0, future_start - time.time()) + 45, outcome="success")
    checks.ok(opened is not None, "1: the future repository synced once its window opened", service1.log_text())
    if opened:
        started = calendar.timegm(time.strptime(opened["started"], "%Y-%m-%dT%H:%M:%SZ"))
        checks.ok(future_start - 1 <= started <= future_start + 30,
                  f"1: it started at the window's start ({started - future_start:+.0f}s)", json.dumps(opened))
    common.mirror_checks(checks, future["path"], os.path.join(target, "future"), "1: future")
    common.write_file(os.path.join(future["path"], "PC-1/Daily/later.img"), 10_000, rng)
    time.sleep(8)
    checks.ok(history_count(state1, "future") == 1, "1: no second sync inside the same window (a new file waits)")
    checks.ok(history_count(state1, "allday") == 1, "1: the all-day repository synced once")
    status = offsite1.run("status", "--json")
    entry = {e.get("repository"): e for e in (status.json() or [])}.get("future") or {}
    checks.ok((entry.get("service") or {}).get("state") == "idle", "1: status shows future idle after its sync",
              status.describe())
    checks.ok(service1.alive(), "1: the service still runs")
    rc, took = service1.stop()
    checks.ok(rc == 0, f"1: the service stops on SIGTERM with status 0 (got {rc} after {took:.1f}s)")
    checks.finish()


if __name__ == "__main__":
    main()
