"""Shared helpers of the integration tests: the real `offsite` binary, driven as a user would.

Every test script is run as `python3 SCRIPT OFFSITE_EXE [options]` (see meson.build). Helpers here
make temporary repositories, targets and configs (removed on exit), run the binary, and compare a
mirror with its repository by content. A test collects failures with `Checks` and exits 1 if any;
exit 77 means skipped (Meson's convention).
"""

import atexit
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def log(message):
    print(message, flush=True)


class Checks:
    """Collects failures; each check prints what it checks and, on failure, why."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passed = 0
        self.started = time.monotonic()

    def ok(self, condition, what, detail=""):
        if condition:
            self.passed += 1
            log(f"  ok    {what}")
        else:
            self.failures.append(what)
            log(f"  FAIL  {what}")
            if detail:
                for line in str(detail).rstrip().splitlines()[:60]:
                    log(f"        | {line}")
        return condition

    def skip(self, what, reason):
        log(f"  skip  {what}: {reason}")

    def finish(self):
        elapsed = time.monotonic() - self.started
        if self.failures:
            log(f"{self.name}: {len(self.failures)} check(s) FAILED, {self.passed} passed, {elapsed:.1f}s")
            for failure in self.failures:
                log(f"  - {failure}")
            sys.exit(1)
        log(f"{self.name}: all {self.passed} checks passed, {elapsed:.1f}s")
        sys.exit(0)


# ---------------------------------------------------------------------------------------------
# Temporary space, removed on exit (also on SIGTERM from Meson's timeout).

_cleanups = []


def on_exit(function):
    _cleanups.append(function)


def _run_cleanups():
    while _cleanups:
        function = _cleanups.pop()
        try:
            function()
        except Exception as error:  # noqa: BLE001 - cleaning up must go on
            log(f"cleanup: {error}")


atexit.register(_run_cleanups)


def _terminate(signum, _frame):
    _run_cleanups()
    os._exit(128 + signum)


signal.signal(signal.SIGTERM, _terminate)


def temp_dir(prefix):
    path = tempfile.mkdtemp(prefix=f"offsite-{prefix}-")
    on_exit(lambda: shutil.rmtree(path, ignore_errors=True))
    return path


# ---------------------------------------------------------------------------------------------
# Repositories

def write_file(path, size, rng):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(rng.randbytes(size))


def rewrite_in_place(path, rng):
    """Rewrites a file's bytes without changing its size or inode (a "synthetic full")."""
    size = os.path.getsize(path)
    with open(path, "r+b") as out:
        out.write(rng.randbytes(size))
    bump_mtime(path)


def bump_mtime(path, seconds=5):
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


def snapshot(root):
    """{relative path: (size, sha256)} of the regular files under root, `.offsite/` excluded.
    Anything that is not a regular file (symlink, fifo) is recorded as ('special', kind)."""
    files = {}
    for directory, dirs, names in os.walk(root):
        relative_dir = os.path.relpath(directory, root)
        if relative_dir == ".":
            dirs[:] = [d for d in dirs if d != ".offsite"]
            relative_dir = ""
        for name in names + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            path = os.path.join(directory, name)
            relative = os.path.join(relative_dir, name) if relative_dir else name
            if os.path.islink(path):
                files[relative] = ("special", "symlink")
            elif not os.path.isfile(path):
                files[relative] = ("special", "other")
            else:
                digest = hashlib.sha256()
                with open(path, "rb") as source:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        digest.update(block)
                files[relative] = (os.path.getsize(path), digest.hexdigest())
    return files


def tree_listing(root, directory_mtimes=True):
    """Every entry under root (the .offsite metadata included) with size and mtime: to prove that
    a command wrote nothing. directory_mtimes=False ignores a directory's mtime (an entry created
    and removed again)."""
    entries = {}
    for directory, dirs, names in os.walk(root):
        for name in sorted(dirs + names):
            path = os.path.join(directory, name)
            st = os.lstat(path)
            is_dir = os.path.isdir(path) and not os.path.islink(path)
            mtime = None if is_dir and not directory_mtimes else st.st_mtime_ns
            entries[os.path.relpath(path, root)] = (st.st_mode, 0 if is_dir else st.st_size, mtime)
    return entries


def diff_snapshots(expected, actual, limit=20):
    lines = []
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            lines.append(f"missing in mirror: {path}")
        elif path not in expected:
            lines.append(f"extra in mirror:   {path}")
        elif expected[path] != actual[path]:
            lines.append(f"differs:           {path} expected {expected[path]} got {actual[path]}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Configs and the binary

def toml_string(value):
    return json.dumps(str(value))


def write_config(path, *, state_dir, repositories, log_level="info"):
    """repositories: list of dicts with name, path, folder, target (dict) and any other keys."""
    lines = ["[service]", f"state_dir = {toml_string(state_dir)}", f"log_level = {toml_string(log_level)}", ""]
    for repository in repositories:
        lines.append("[[repository]]")
        target = None
        for key, value in repository.items():
            if key == "target":
                target = value
                continue
            lines.append(f"{key} = {toml_value(value)}")
        lines.append("  [repository.target]")
        for key, value in target.items():
            lines.append(f"  {key} = {toml_value(value)}")
        lines.append("")
    with open(path, "w") as out:
        out.write("\n".join(lines))
    os.chmod(path, 0o600)
    return path


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return toml_string(value)


class Result:
    def __init__(self, args, returncode, stdout, stderr, elapsed):
        self.args = args
        self.rc = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed

    @property
    def output(self):
        return self.stdout + self.stderr

    def describe(self):
        return (f"command: {' '.join(self.args)}\nexit: {self.rc} after {self.elapsed:.1f}s\n"
                f"stdout:\n{self.stdout[-3000:]}\nstderr:\n{self.stderr[-3000:]}")

    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None


class Offsite:
    def __init__(self, exe, config):
        self.exe = os.path.abspath(exe)
        self.config = config

    def env(self, extra=None):
        env = dict(os.environ)
        env.pop("OFFSITE_FAILPOINT", None)
        env.pop("OFFSITE_CONFIG", None)
        env.setdefault("OFFSITE_TEST_BACKOFF_MS", "20")
        if extra:
            env.update(extra)
        return env

    def args(self, *command):
        return [self.exe, "--config", self.config, *command]

    def run(self, *command, env=None, timeout=120, stdin=subprocess.DEVNULL):
        args = self.args(*command)
        started = time.monotonic()
        try:
            done = subprocess.run(args, env=self.env(env), stdin=stdin, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            return Result(args, "timeout", (expired.stdout or b"").decode(errors="replace"),
                          (expired.stderr or b"").decode(errors="replace"), time.monotonic() - started)
        return Result(args, done.returncode, done.stdout.decode(errors="replace"),
                      done.stderr.decode(errors="replace"), time.monotonic() - started)

    def start(self, *command, env=None):
        args = self.args(*command)
        process = subprocess.Popen(args, env=self.env(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
        process.started_at = time.monotonic()
        process.argv = args

        def reap():
            if process.poll() is None:
                process.kill()
                process.wait()
        on_exit(reap)
        return process


def finish(process, timeout=120):
    """Waits for a process started by Offsite.start and returns a Result."""
    try:
        out, err = process.communicate(timeout=timeout)
        rc = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        rc = "timeout"
    return Result(process.argv, rc, out.decode(errors="replace"), err.decode(errors="replace"),
                  time.monotonic() - process.started_at)


def verify_deep(checks, offsite, name, label=""):
    """`offsite verify --deep NAME` must pass; while the command is not built yet (exit 2, "not
    available"), the check is skipped and says so."""
    result = offsite.run("verify", "--deep", name)
    if result.rc == 2 and "not available" in result.stderr:
        checks.skip(f"verify --deep {name}{label}", "verify is not available in this build yet")
        return None
    return checks.ok(result.rc == 0, f"verify --deep {name}{label} exits 0", result.describe())


def tx_leftovers(mirror_root):
    tx = os.path.join(mirror_root, ".offsite", "tx")
    leftovers = []
    for directory, _dirs, names in os.walk(tx):
        for name in names:
            leftovers.append(os.path.relpath(os.path.join(directory, name), mirror_root))
    return leftovers


def mirror_checks(checks, repository, mirror, label, skipped=()):
    """The mirror equals the repository by content (`.offsite` excluded, skipped paths aside), and
    no staging or journal is left."""
    expected = {p: v for p, v in snapshot(repository).items() if p not in skipped and v[0] != "special"}
    actual = snapshot(mirror) if os.path.isdir(mirror) else {}
    equal = checks.ok(expected == actual, f"{label}: mirror equals the repository ({len(expected)} files)",
                      diff_snapshots(expected, actual))
    leftovers = tx_leftovers(mirror)
    checks.ok(not leftovers, f"{label}: nothing left under .offsite/tx/", "\n".join(leftovers[:20]))
    return equal and not leftovers


def copy_tree(source, destination):
    if os.path.lexists(destination):
        shutil.rmtree(destination)
    shutil.copytree(source, destination, symlinks=True)
