#!/usr/bin/env python3
"""missing_libcurl: an S3 target on a machine without libcurl (BRIEF §9: bad input, clear errors).

Usage: missing_libcurl.py OFFSITE_EXE

offsite opens libcurl when an HTTP or S3 target is first used (net/curl_library.hpp), so a machine
without the libcurl4 package still syncs to local and SFTP targets, and an S3 target there fails
with a message that names the library and the package, exit 1, and no crash. The library is
hidden by bind-mounting /dev/null over it in a private mount namespace (`unshare --mount`): needs
root, skipped otherwise, saying why.
"""

import ctypes
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402


def libcurl_path():
    """The file the dynamic loader opens for libcurl.so.4 on this machine's architecture: loaded
    into this process, then found in its memory map."""
    try:
        ctypes.CDLL("libcurl.so.4")
    except OSError:
        return None
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and os.path.basename(fields[5]).startswith("libcurl.so.4"):
                return os.path.realpath(fields[5])
    return None


def main():
    exe = os.path.abspath(sys.argv[1])
    checks = common.Checks("missing_libcurl")
    library = libcurl_path()
    if os.geteuid() != 0 or library is None:
        log(f"skipped: needs root for a private mount namespace and libcurl.so.4 installed "
            f"(euid {os.geteuid()}, libcurl {library})")
        sys.exit(common.SKIP)
    hidden = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                             'mount --bind /dev/null "$0" && exec cat "$0"', library], capture_output=True)
    if hidden.returncode != 0 or hidden.stdout:
        log(f"skipped: cannot hide {library} in a private mount namespace: {hidden.stderr.decode().strip()}")
        sys.exit(common.SKIP)

    rng = random.Random(5)
    base = common.temp_dir("missing-libcurl")
    repository = os.path.join(base, "repository")
    mirror = os.path.join(base, "mirror")
    os.makedirs(mirror)
    common.write_file(f"{repository}/PC-1/Daily/a.img", 10_000, rng)
    config = common.write_config(os.path.join(base, "config.toml"), state_dir=os.path.join(base, "state"),
                                 repositories=[
        {"name": "local", "path": repository, "folder": "F", "target": {"type": "local", "path": mirror}},
        {"name": "s3", "path": repository, "folder": "F", "retry_budget": "2s",
         "target": {"type": "s3", "bucket": "b", "prefix": "p", "region": "us-east-1",
                    "endpoint": "http://127.0.0.1:1", "access_key_id": "AKIAEXAMPLE",
                    "secret_access_key_env": "OFFSITE_TEST_SECRET"}},
    ])
    offsite = common.Offsite(exe, config)

    def without_libcurl(*command):
        # Offsite.run, with the library hidden from this one process.
        wrapped = common.Offsite("/usr/bin/unshare", config)
        wrapped.args = lambda *c: ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                   'mount --bind /dev/null "$0" && exec "$@"', library, exe, "--config", config,
                                   *c]
        return wrapped.run(*command, env={"OFFSITE_TEST_SECRET": "not-a-real-secret"})

    log(f"== {library} hidden")
    result = without_libcurl("sync", "local")
    checks.ok(result.rc == 0, "a sync to a local target needs no libcurl: exit 0", result.describe())
    for command in (("test-connection", "s3"), ("sync", "s3")):
        result = without_libcurl(*command)
        label = " ".join(command)
        checks.ok(result.rc == 1, f"{label} without libcurl exits 1", result.describe())
        checks.ok("libcurl.so.4" in result.output and "libcurl4" in result.output,
                  f"{label}: the message names libcurl.so.4 and the Debian package libcurl4", result.describe())
    log("== the same S3 repository with libcurl: the error is the unreachable endpoint, not the library")
    result = offsite.run("test-connection", "s3", env={"OFFSITE_TEST_SECRET": "not-a-real-secret"})
    checks.ok(result.rc == 1 and "127.0.0.1:1" in result.output and "libcurl.so.4" not in result.output,
              "with libcurl present, test-connection fails naming the endpoint (127.0.0.1:1), not the library",
              result.describe())
    checks.finish()


if __name__ == "__main__":
    main()
