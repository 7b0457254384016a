#!/usr/bin/env python3
"""failing_disk: a local target on a disk whose writes start failing (BRIEF §4, §9).

Usage: failing_disk.py OFFSITE_EXE

A USB disk or a NAS can accept writes into the page cache and then fail to write them back: the
kernel reports that once, to the next fsync (EIO). The local target owes the fsync of what it
uploads until the flush before the next commit point (target/local_owed_syncs.hpp), so this is
the test that a lost writeback fails the sync instead of being committed:

- an ext4 file system on a loop device whose backing file is a sparse file on a small tmpfs: the
  file system has room, the "disk" under it does not, so writeback fails with EIO (a real kernel
  path, no fake);
- a first sync that fits succeeds; then a file larger than the room left: `offsite sync` must
  exit 1 naming the remote path, and the committed state must stay intact and readable;
- the "disk" is mended (tmpfs grown, e2fsck, mounted again): the next sync succeeds, the mirror
  equals the repository and `verify --deep` passes (no committed file holds lost bytes).

Needs root (mount, losetup, mkfs.ext4); skipped otherwise, saying why.
"""

import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402
from remote_faults import committed, intact  # noqa: E402

BACKING_MIB = 24  # the "disk": what the tmpfs under the loop device can hold
FILESYSTEM_MIB = 128  # what ext4 on it believes it has


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def skip(why):
    # The whole test: exit 77, so that Meson counts a skip and not a pass.
    log(f"skipped: {why}")
    sys.exit(common.SKIP)


def main():
    exe = sys.argv[1]
    checks = common.Checks("failing_disk")
    if os.geteuid() != 0:
        skip("needs root for mount and losetup")
    missing = [tool for tool in ("losetup", "mkfs.ext4", "e2fsck") if not shutil.which(tool)]
    if missing:
        skip(f"needs {', '.join(missing)} (Debian: util-linux, e2fsprogs)")
    rng = random.Random(17)
    base = common.temp_dir("failing-disk")
    repository = os.path.join(base, "repository")
    backing, disk = os.path.join(base, "backing"), os.path.join(base, "disk")
    os.makedirs(backing)
    os.makedirs(disk)

    made = run("mount", "-t", "tmpfs", "-o", f"size={BACKING_MIB}m", "tmpfs", backing)
    if made.returncode != 0:
        skip(f"mount -t tmpfs failed: {made.stderr.strip()}")
    common.on_exit(lambda: run("umount", "-l", backing))
    image = os.path.join(backing, "disk.img")
    with open(image, "wb") as sparse:
        sparse.truncate(FILESYSTEM_MIB << 20)
    attached = run("losetup", "--find", "--show", image)
    if attached.returncode != 0:
        skip(f"losetup failed: {attached.stderr.strip()}")
    device = attached.stdout.strip()
    common.on_exit(lambda: run("losetup", "-d", device))
    # Inode tables and journal written now (not lazily by the kernel later), few inodes: the
    # file system's own writes fit the tmpfs, and what is left for data is known.
    made = run("mkfs.ext4", "-q", "-F", "-N", "2048", "-E", "lazy_itable_init=0,lazy_journal_init=0", device)
    if made.returncode != 0:
        skip(f"mkfs.ext4 failed: {made.stderr.strip()}")
    made = run("mount", "-t", "ext4", device, disk)
    if made.returncode != 0:
        skip(f"mount of {device} failed: {made.stderr.strip()}")
    common.on_exit(lambda: run("umount", "-l", disk))
    used_mib = shutil.disk_usage(backing).used / (1 << 20)
    log(f"== ext4 on {device} ({FILESYSTEM_MIB} MiB) over a {BACKING_MIB} MiB tmpfs, {used_mib:.1f} MiB of it used")

    target = os.path.join(disk, "target")
    os.makedirs(target)
    mirror = os.path.join(target, "F")
    config = common.write_config(os.path.join(base, "config.toml"), state_dir=os.path.join(base, "state"),
                                 repositories=[{"name": "disk", "path": repository, "folder": "F",
                                                "retry_budget": "2s", "chunk_size": "1MiB",
                                                "target": {"type": "local", "path": target}}])
    offsite = common.Offsite(exe, config)
    for pc in ("PC-1", "PC-2"):
        for name in ("full-0.img", "incr-1.img", "incr-2.img"):
            common.write_file(f"{repository}/{pc}/Daily/{name}", rng.randint(50_000, 400_000), rng)
    result = offsite.run("sync", "disk")
    checks.ok(result.rc == 0, "a first sync that fits the disk exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "first sync")
    repository_id, committed_snapshot, generation = committed(mirror, repository)

    log("== writes accepted by the file system, lost by the disk under it")
    room_mib = BACKING_MIB - shutil.disk_usage(backing).used / (1 << 20)
    big_mib = int(room_mib) + 16
    common.write_file(f"{repository}/PC-1/Daily/full-3.img", big_mib << 20, rng)
    common.write_file(f"{repository}/PC-2/Daily/incr-3.img", 200_000, rng)
    result = offsite.run("sync", "disk", timeout=100)
    checks.ok(result.rc == 1, f"a sync whose {big_mib} MiB the disk cannot keep ({room_mib:.1f} MiB left) exits 1",
              result.describe())
    checks.ok(disk in result.output, f"the message names the remote path ({disk})", result.describe())
    log("   offsite: " + result.output.strip().replace("\n", " | ")[-600:])
    kernel = run("dmesg")
    log("   kernel: " + " | ".join(line for line in kernel.stdout.splitlines()[-200:]
                                   if device.removeprefix("/dev/") in line)[-600:])
    intact(checks, "failing disk", mirror, repository_id, committed_snapshot, generation)

    log("== the disk mended: room under the loop device, e2fsck, mounted again")
    steps = [("umount", disk), ("mount", "-o", f"remount,size={FILESYSTEM_MIB + 64}m", backing)]
    for step in steps:
        done = run(*step)
        if not checks.ok(done.returncode == 0, f"{' '.join(step)}", done.stderr):
            checks.finish()  # no e2fsck of a file system still mounted
    fsck = run("e2fsck", "-f", "-y", device)
    checks.ok(fsck.returncode in (0, 1), f"e2fsck -f -y {device} exits 0 or 1 (errors corrected)",
              f"exit {fsck.returncode}\n{fsck.stdout[-2000:]}\n{fsck.stderr}")
    done = run("mount", "-t", "ext4", device, disk)
    checks.ok(done.returncode == 0, f"mount {device} again", done.stderr)
    intact(checks, "after e2fsck", mirror, repository_id, committed_snapshot, generation)
    result = offsite.run("sync", "disk", timeout=100)
    checks.ok(result.rc == 0, "once the disk keeps what it is given, the next sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "after the failing disk")
    common.verify_deep(checks, offsite, "disk", " (after the failing disk)")
    checks.finish()


if __name__ == "__main__":
    main()
