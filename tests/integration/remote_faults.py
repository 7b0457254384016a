#!/usr/bin/env python3
"""remote_faults: a full remote, a read-only remote, a missing target path (local target).

Usage: remote_faults.py OFFSITE_EXE

Checks (BRIEF §4, §9): each fault makes `offsite sync` exit 1 with a message naming the remote
path, and the committed state of the previous sync stays intact (its files in place with their
content, the committed record unchanged and checked); once the fault is gone, a sync succeeds and
the mirror equals the repository. Needs root for a size-limited tmpfs (skipped otherwise, saying
why); the missing-path case runs everywhere.
"""

import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import crash_matrix  # noqa: E402  (the independent reader of the committed state)
from common import log  # noqa: E402


def mount(*args):
    return subprocess.run(["mount", *args], capture_output=True, text=True)


def committed(mirror, repository):
    """What intact() compares with later: (repository ID, the mirror's files, the committed
    generation), taken right after a sync that succeeded."""
    with open(os.path.join(repository, ".offsite", "repository-id")) as source:
        repository_id = source.read().strip()
    generation, _state, _problems = crash_matrix.committed_state(mirror, repository_id)
    return repository_id, common.snapshot(mirror), generation


def intact(checks, label, mirror, repository_id, committed_snapshot, generation):
    now = common.snapshot(mirror)
    kept = {p: v for p, v in now.items() if p in committed_snapshot}
    checks.ok(kept == committed_snapshot, f"{label}: every committed file is still in the mirror with its content",
              common.diff_snapshots(committed_snapshot, kept))
    found, _state, problems = crash_matrix.committed_state(mirror, repository_id)
    checks.ok(found >= generation and not problems,
              f"{label}: the committed state is generation {generation} or a later one (another folder "
              f"committed before the fault; found {found}), every committed file present and checked",
              f"found generation {found}\n" + "\n".join(problems))


def main():
    exe = sys.argv[1]
    checks = common.Checks("remote_faults")
    rng = random.Random(11)
    base = common.temp_dir("remote-faults")
    repository = os.path.join(base, "repository")
    state_dir = os.path.join(base, "state")

    log("== missing target path")
    missing = os.path.join(base, "no-such-disk")
    config = common.write_config(os.path.join(base, "missing.toml"), state_dir=state_dir, repositories=[
        {"name": "missing", "path": repository, "folder": "F", "target": {"type": "local", "path": missing}}])
    common.write_file(f"{repository}/PC-1/Daily/a.img", 1000, rng)
    result = common.Offsite(exe, config).run("sync", "missing")
    checks.ok(result.rc == 1, "sync to a missing target path exits 1", result.describe())
    checks.ok(missing in result.output, "the message names the missing path", result.describe())
    checks.ok(not os.path.exists(missing), "the missing target path was not created")

    disk = os.path.join(base, "disk")
    os.makedirs(disk)
    if os.geteuid() != 0:
        checks.skip("full and read-only remote", "needs root to mount a size-limited tmpfs")
        checks.finish()
    made = mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", disk)
    if made.returncode != 0:
        checks.skip("full and read-only remote", f"mount -t tmpfs failed: {made.stderr.strip()}")
        checks.finish()
    common.on_exit(lambda: subprocess.run(["umount", "-l", disk], capture_output=True))
    config = common.write_config(os.path.join(base, "disk.toml"), state_dir=state_dir, repositories=[
        {"name": "disk", "path": repository, "folder": "Site", "chunk_size": "64KiB", "max_change_percent": 100,
         "target": {"type": "local", "path": disk}}])
    offsite = common.Offsite(exe, config)
    mirror = os.path.join(disk, "Site")
    for index in range(4):
        common.write_file(f"{repository}/PC-1/Daily/incr-{index}.img", 60_000, rng)
    result = offsite.run("sync", "disk")
    checks.ok(result.rc == 0, "a small first sync to the 2 MiB tmpfs exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "small first sync")
    repository_id, committed_snapshot, generation = committed(mirror, repository)

    log("== remote full")
    common.write_file(f"{repository}/PC-1/Daily/full.img", 3_000_000, rng)
    common.write_file(f"{repository}/PC-2/Daily/full.img", 500_000, rng)
    result = offsite.run("sync", "disk")
    checks.ok(result.rc == 1, "sync of a repository bigger than the remote exits 1", result.describe())
    checks.ok(disk in result.output, f"the message names the remote path ({disk})", result.describe())
    checks.ok("space" in result.output.lower() or "full" in result.output.lower(),
              "the message says the remote is full (no space)", result.describe())
    intact(checks, "remote full", mirror, repository_id, committed_snapshot, generation)
    os.remove(f"{repository}/PC-1/Daily/full.img")
    result = offsite.run("sync", "disk")
    checks.ok(result.rc == 0, "with the big file gone, the next sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "after the full remote")
    common.verify_deep(checks, offsite, "disk", " (after the full remote)")
    repository_id, committed_snapshot, generation = committed(mirror, repository)

    log("== read-only remote")
    common.write_file(f"{repository}/PC-1/Daily/incr-9.img", 50_000, rng)
    os.remove(f"{repository}/PC-1/Daily/incr-0.img")
    remounted = mount("-o", "remount,ro", disk)
    if remounted.returncode != 0:
        checks.skip("read-only remote", f"mount -o remount,ro failed: {remounted.stderr.strip()}")
    else:
        result = offsite.run("sync", "disk")
        checks.ok(result.rc == 1, "sync to a read-only remote exits 1", result.describe())
        checks.ok(disk in result.output, f"the message names the remote path ({disk})", result.describe())
        checks.ok("read-only" in result.output.lower(), "the message says the remote is read-only",
                  result.describe())
        intact(checks, "read-only remote", mirror, repository_id, committed_snapshot, generation)
        remounted = mount("-o", "remount,rw", disk)
        checks.ok(remounted.returncode == 0, "the tmpfs is writable again", remounted.stderr)
        result = offsite.run("sync", "disk")
        checks.ok(result.rc == 0, "once writable, the next sync exits 0", result.describe())
        common.mirror_checks(checks, repository, mirror, "after the read-only remote")
    checks.finish()


if __name__ == "__main__":
    main()
