#!/usr/bin/env python3
"""missing_libraries: a machine without libcurl, libssh2 or libcrypto (BRIEF §9: bad input, clear
errors).

Usage: missing_libraries.py OFFSITE_EXE

offsite links none of the libraries only some targets use: it opens libcurl when an S3 target is
first used, libssh2 at the first SFTP connection, and libcrypto for S3 signing and SFTP host keys
(util/shared_library.hpp). So:
- a sync to a local target works with any of them missing: the test that the executable does not
  load them at start, which is what keeps them off every cold run;
- a target that needs a missing library fails with a message naming the library and its Debian
  package, exit 1, and no crash.
Each library is hidden from one process by bind-mounting /dev/null over its file in a private
mount namespace (`unshare --mount`): needs root, skipped otherwise, saying why.
"""

import ctypes
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402

SECRET = "not-a-real-secret"


def library_path(soname):
    """The file the dynamic loader opens for `soname` on this machine's architecture: loaded into
    this process, then found in its memory map."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return None
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and os.path.basename(fields[5]).startswith(soname):
                return os.path.realpath(fields[5])
    return None


def main():
    exe = os.path.abspath(sys.argv[1])
    checks = common.Checks("missing_libraries")
    libraries = {soname: library_path(soname) for soname in ("libcurl.so.4", "libssh2.so.1", "libcrypto.so.3")}
    if os.geteuid() != 0 or None in libraries.values():
        log(f"skipped: needs root for a private mount namespace and the libraries installed "
            f"(euid {os.geteuid()}, {libraries})")
        sys.exit(common.SKIP)
    hidden = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                             'mount --bind /dev/null "$0" && exec cat "$0"', libraries["libcurl.so.4"]],
                            capture_output=True)
    if hidden.returncode != 0 or hidden.stdout:
        log(f"skipped: cannot hide a library in a private mount namespace: {hidden.stderr.decode().strip()}")
        sys.exit(common.SKIP)

    rng = random.Random(5)
    base = common.temp_dir("missing-libraries")
    repository = os.path.join(base, "repository")
    mirror = os.path.join(base, "mirror")
    os.makedirs(mirror)
    common.write_file(f"{repository}/PC-1/Daily/a.img", 10_000, rng)
    key = os.path.join(base, "id_ed25519")
    common.write_file(key, 400, rng)
    config = common.write_config(os.path.join(base, "config.toml"), state_dir=os.path.join(base, "state"),
                                 repositories=[
        {"name": "local", "path": repository, "folder": "F", "target": {"type": "local", "path": mirror}},
        {"name": "s3", "path": repository, "folder": "F", "retry_budget": "2s",
         "target": {"type": "s3", "bucket": "b", "prefix": "p", "region": "us-east-1",
                    "endpoint": "http://127.0.0.1:1", "access_key_id": "AKIAEXAMPLE",
                    "secret_access_key_env": "OFFSITE_TEST_SECRET"}},
        {"name": "sftp", "path": repository, "folder": "F", "retry_budget": "2s",
         "target": {"type": "sftp", "host": "127.0.0.1", "port": 1, "path": "/backups", "username": "u",
                    "private_key": key}},
    ])
    offsite = common.Offsite(exe, config)

    def without(library, *command):
        # Offsite.run, with `library` hidden from this one process.
        wrapped = common.Offsite("/usr/bin/unshare", config)
        wrapped.args = lambda *c: ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                   'mount --bind /dev/null "$0" && exec "$@"', library, exe, "--config", config,
                                   *c]
        return wrapped.run(*command, env={"OFFSITE_TEST_SECRET": SECRET})

    # soname hidden -> the repositories that need it, and the soname and package their error names
    cases = [
        ("libcurl.so.4", ["s3"], "libcurl.so.4", "libcurl4"),
        ("libssh2.so.1", ["sftp"], "libssh2.so.1", "libssh2-1"),
        # libcurl and libssh2 need libcrypto too; the S3 target asks for libcrypto first.
        ("libcrypto.so.3", ["s3"], "libcrypto.so.3", "libssl3"),
        ("libcrypto.so.3", ["sftp"], "libssh2.so.1", "libcrypto.so.3"),
    ]
    synced_without = set()
    for soname, repositories, named, package in cases:
        library = libraries[soname]
        if soname not in synced_without:
            synced_without.add(soname)
            log(f"== {library} hidden")
            result = without(library, "sync", "local")
            checks.ok(result.rc == 0, f"a sync to a local target needs no {soname}: exit 0", result.describe())
        for repository in repositories:
            for command in (("test-connection", repository), ("sync", repository)):
                result = without(library, *command)
                label = f"{' '.join(command)} without {soname}"
                checks.ok(result.rc == 1, f"{label} exits 1", result.describe())
                checks.ok(named in result.output and package in result.output,
                          f"{label}: the message names {named} and {package}", result.describe())
                checks.ok(SECRET not in result.output, f"{label}: the message holds no secret", result.describe())
    log("== with every library: the errors are the unreachable servers, not the libraries")
    for repository in ("s3", "sftp"):
        result = offsite.run("test-connection", repository, env={"OFFSITE_TEST_SECRET": SECRET})
        checks.ok(result.rc == 1 and "127.0.0.1:1" in result.output
                  and not any(soname in result.output for soname in libraries),
                  f"{repository}: with the libraries present, test-connection fails naming the server "
                  "(127.0.0.1:1), not a library", result.describe())
    checks.finish()


if __name__ == "__main__":
    main()
