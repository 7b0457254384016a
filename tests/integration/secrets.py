#!/usr/bin/env python3
"""secrets: known secrets appear in no output and no file offsite writes.

Usage: secrets.py OFFSITE_EXE

A config holds a known inline password for an sftp target (nothing listens: its commands fail once
a short retry_budget is spent),
a password_file and a secret_access_key_env for other targets, next to a local target that does
sync. Every command (check-config, status, sync, verify, restore, test-connection, reinitialize,
with --json where it exists) is run; no stdout, stderr, or file under state_dir or the target may
contain a secret (BRIEF §9). state_dir files are 0640 and its directories 0750.
"""

import os
import random
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402

INLINE = "Inline-Pa55w0rd-7f3c9e1d"
FROM_FILE = "File-Pa55w0rd-2b8a44c0"
FROM_ENV = "Env-S3cretKey-91d0aa7e"


def main():
    exe = sys.argv[1]
    checks = common.Checks("secrets")
    rng = random.Random(13)
    base = common.temp_dir("secrets")
    repository = os.path.join(base, "repository")
    target = os.path.join(base, "target")
    state_dir = os.path.join(base, "state")
    os.makedirs(target)
    for index in range(3):
        common.write_file(f"{repository}/PC-1/Daily/incr-{index}.img", 20_000, rng)
    secret_file = os.path.join(base, "sftp-password")
    with open(secret_file, "w") as out:
        out.write(FROM_FILE + "\n")
    os.chmod(secret_file, 0o600)
    config = common.write_config(os.path.join(base, "offsite.toml"), state_dir=state_dir, repositories=[
        {"name": "local", "path": repository, "folder": "Local", "target": {"type": "local", "path": target}},
        {"name": "sftp-inline", "path": repository, "folder": "A", "retry_budget": "1s",
         "target": {"type": "sftp", "host": "127.0.0.1", "port": 1, "path": "/srv/offsite", "username": "u",
                    "password": INLINE}},
        {"name": "sftp-file", "path": repository, "folder": "B", "retry_budget": "1s",
         "target": {"type": "sftp", "host": "127.0.0.1", "port": 1, "path": "/srv/offsite", "username": "u",
                    "password_file": secret_file}},
        # Nothing listens on port 1: with the S3 target built, a refused connection is an outage,
        # retried within retry_budget; a short one keeps each command to seconds.
        {"name": "s3-env", "path": repository, "folder": "C", "retry_budget": "1s",
         "target": {"type": "s3", "bucket": "b", "prefix": "p", "region": "us-east-1",
                    "endpoint": "http://127.0.0.1:1", "access_key_id": "AKIAEXAMPLE",
                    "secret_access_key_env": "OFFSITE_TEST_SECRET"}},
    ])
    offsite = common.Offsite(exe, config)
    env = {"OFFSITE_TEST_SECRET": FROM_ENV}
    restore_dir = os.path.join(base, "restored")
    outputs = []
    for name in ("local", "sftp-inline", "sftp-file", "s3-env"):
        for command in (["check-config"], ["status"], ["status", name, "--json"], ["sync", name],
                        ["sync", name, "--json"], ["sync", name, "--dry-run"], ["verify", name, "--json"],
                        ["verify", "--deep", name], ["test-connection", name], ["test-connection", name, "--json"],
                        ["restore", name, "--to", os.path.join(restore_dir, name)], ["forecast", name]):
            result = offsite.run(*command, env=env, timeout=60)
            log(f"  {' '.join(command)}: exit {result.rc}")
            outputs.append((" ".join(command), result))
        if name == "local":
            checks.ok(outputs[3][1].rc == 0, "the local target syncs (exit 0)", outputs[3][1].describe())
        elif name == "sftp-inline":
            sync = [r for c, r in outputs if c == "sync sftp-inline"][0]
            checks.ok(sync.rc in (1, 2), f"sync of an sftp target fails cleanly (exit {sync.rc})", sync.describe())
    secrets = (INLINE, FROM_FILE, FROM_ENV)
    leaks = [f"{command}: {secret}" for command, result in outputs for secret in secrets if secret in result.output]
    checks.ok(not leaks, f"no secret in the output of {len(outputs)} commands", "\n".join(leaks))
    leaks, modes = [], []
    scanned = 0
    for root in (state_dir, target, restore_dir, repository):
        for directory, _dirs, names in os.walk(root):
            if root == state_dir:
                mode = stat.S_IMODE(os.stat(directory).st_mode)
                if mode != 0o750:
                    modes.append(f"{directory}: directory mode {mode:o}, expected 750")
            for file_name in names:
                path = os.path.join(directory, file_name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                scanned += 1
                with open(path, "rb") as source:
                    data = source.read()
                leaks += [f"{path}: {s}" for s in secrets if s.encode() in data]
                if root == state_dir:
                    mode = stat.S_IMODE(os.stat(path).st_mode)
                    if mode != 0o640:
                        modes.append(f"{path}: mode {mode:o}, expected 640")
    checks.ok(scanned > 0 and not leaks, f"no secret in the {scanned} files under state_dir, the target and the "
              "repository", "\n".join(leaks))
    checks.ok(not modes, "state_dir files are 0640 and its directories 0750", "\n".join(modes))
    checks.finish()


if __name__ == "__main__":
    main()
