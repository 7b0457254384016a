#!/usr/bin/env python3
"""scenarios: `offsite sync` against a local target as an administrator drives it.

Usage: scenarios.py OFFSITE_EXE

Checks (BRIEF §2, §3, §5, §7): a first sync and next-day changes end with the mirror equal to
the repository; --json prints the result object of §7; --dry-run prints the plan and writes
nothing; the mass-change guards refuse an emptied or fully rewritten repository (exit 5, mirror
untouched) unless --allow-mass-change; a foreign remote ID stops the sync (exit 3, the message of
§5.5); claiming a folder that holds foreign files is refused (exit 5, files listed, nothing
written) and `sync --reinitialize` takes it over; a symlink is reported in files_skipped and
never followed; a file rewritten while it is read (allow_backups_during_sync) is never committed
torn and is listed in files_skipped.
"""

import json
import os
import random
import shutil
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402

RESULT_FIELDS = ["repository", "started", "finished", "outcome", "error", "bytes_uploaded", "files_uploaded",
                 "files_deleted", "files_skipped", "warnings", "folders_committed", "generation"]


def main():
    exe = sys.argv[1]
    checks = common.Checks("scenarios")
    rng = random.Random(42)
    base = common.temp_dir("scenarios")
    repository = os.path.join(base, "repository")
    target = os.path.join(base, "target")
    outside = os.path.join(base, "outside")
    state_dir = os.path.join(base, "state")
    for directory in (repository, target, outside):
        os.makedirs(directory)
    mirror = os.path.join(target, "Site")
    config = common.write_config(os.path.join(base, "offsite.toml"), state_dir=state_dir, repositories=[
        {"name": "main", "path": repository, "folder": "Site", "chunk_size": "64KiB",
         "target": {"type": "local", "path": target}},
        {"name": "foreign", "path": repository, "folder": "Foreign", "chunk_size": "64KiB",
         "target": {"type": "local", "path": target}},
    ])
    offsite = common.Offsite(exe, config)

    for pc in ("PC-0001", "PC-0002", "PC-0003"):
        common.write_file(f"{repository}/{pc}/Daily/full-01.img", rng.randint(200_000, 600_000), rng)
        for day in range(1, 5):
            common.write_file(f"{repository}/{pc}/Daily/incr-0{day}.img", rng.randint(1_000, 90_000), rng)

    log("== first sync")
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 0, "first sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "first sync")
    common.verify_deep(checks, offsite, "main", " (first sync)")

    log("== next-day changes, with --json")
    os.remove(f"{repository}/PC-0001/Daily/incr-01.img")
    common.write_file(f"{repository}/PC-0001/Daily/incr-05.img", 50_000, rng)
    common.rewrite_in_place(f"{repository}/PC-0002/Daily/full-01.img", rng)
    common.write_file(f"{repository}/PC-0003/Daily/incr-02.img", 12_345, rng)  # new size
    common.bump_mtime(f"{repository}/PC-0003/Daily/incr-02.img")
    result = offsite.run("sync", "main", "--json")
    checks.ok(result.rc == 0, "next-day sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "next-day sync")
    parsed = result.json()
    if checks.ok(isinstance(parsed, dict), "--json prints one JSON object on stdout", result.stdout):
        missing = [field for field in RESULT_FIELDS if field not in parsed]
        checks.ok(not missing, "--json result has every field of BRIEF §7", f"missing: {missing}\n{result.stdout}")
        checks.ok(parsed.get("outcome") == "success" and parsed.get("error") is None,
                  "--json outcome is success with error null", result.stdout)
        checks.ok(sorted(parsed.get("files_uploaded", [])) == sorted([
            "PC-0001/Daily/incr-05.img", "PC-0002/Daily/full-01.img", "PC-0003/Daily/incr-02.img"]),
            "--json files_uploaded lists the new and changed files", result.stdout)
        checks.ok(parsed.get("files_deleted") == ["PC-0001/Daily/incr-01.img"],
                  "--json files_deleted lists the purged file", result.stdout)
        checks.ok(isinstance(parsed.get("generation"), int) and parsed.get("generation", 0) > 0
                  and isinstance(parsed.get("bytes_uploaded"), int) and parsed["bytes_uploaded"] > 0,
                  "--json generation and bytes_uploaded are positive integers", result.stdout)
    common.verify_deep(checks, offsite, "main", " (next day)")
    status = offsite.run("status", "main", "--json")
    try:
        entries = json.loads(status.stdout)
        entry = entries[0] if isinstance(entries, list) else entries
        last = entry.get("last_result") or {}
    except (ValueError, IndexError, AttributeError):
        last = {}
    checks.ok(status.rc == 0 and last.get("outcome") == "success"
              and last.get("generation") == (parsed or {}).get("generation"),
              "status --json shows the last result (success, the same generation)", status.describe())

    log("== --dry-run writes nothing and prints the plan")
    common.write_file(f"{repository}/PC-0002/Daily/incr-09.img", 7_000, rng)
    os.remove(f"{repository}/PC-0003/Daily/incr-04.img")
    before = common.tree_listing(target)
    results_before = common.tree_listing(state_dir)
    result = offsite.run("sync", "main", "--dry-run")
    checks.ok(result.rc == 0, "sync --dry-run exits 0", result.describe())
    checks.ok(common.tree_listing(target) == before, "sync --dry-run leaves the target tree unchanged (.offsite too)",
              diff_listing(before, common.tree_listing(target)))
    checks.ok(common.tree_listing(state_dir) == results_before, "sync --dry-run records no result in state_dir",
              diff_listing(results_before, common.tree_listing(state_dir)))
    checks.ok("PC-0002/Daily/incr-09.img" in result.stdout and "PC-0003/Daily/incr-04.img" in result.stdout,
              "sync --dry-run prints the planned upload and deletion", result.describe())
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 0, "the sync after the dry run exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "after the dry run")

    log("== mass-change guards")
    parked = os.path.join(base, "parked")
    os.makedirs(parked)
    for entry in os.listdir(repository):
        if entry != ".offsite":
            shutil.move(os.path.join(repository, entry), os.path.join(parked, entry))
    mirror_before = common.snapshot(mirror)
    meta_before = sorted(os.listdir(os.path.join(mirror, ".offsite", "commits")))
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 5, "sync of an emptied repository is refused with exit 5", result.describe())
    checks.ok(common.snapshot(mirror) == mirror_before
              and sorted(os.listdir(os.path.join(mirror, ".offsite", "commits"))) == meta_before,
              "the refused sync left the mirror and the commit records untouched",
              common.diff_snapshots(mirror_before, common.snapshot(mirror)))
    for entry in os.listdir(parked):
        shutil.move(os.path.join(parked, entry), os.path.join(repository, entry))
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 0, "with the files back, sync exits 0", result.describe())
    for path in sorted(p for p in common.snapshot(repository)):
        common.rewrite_in_place(os.path.join(repository, path), rng)
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 5, "sync of a repository whose every file was rewritten is refused with exit 5",
              result.describe())
    checks.ok(common.snapshot(mirror) == mirror_before
              and sorted(os.listdir(os.path.join(mirror, ".offsite", "commits"))) == meta_before,
              "the refused sync left the mirror and the commit records untouched",
              common.diff_snapshots(mirror_before, common.snapshot(mirror)))
    result = offsite.run("sync", "main", "--allow-mass-change")
    checks.ok(result.rc == 0, "sync --allow-mass-change exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "after --allow-mass-change")

    log("== a symlink is skipped, never followed")
    with open(os.path.join(outside, "secret.bin"), "wb") as out:
        out.write(b"outside the repository " * 100)
    os.symlink(os.path.join(outside, "secret.bin"), f"{repository}/PC-0001/Daily/link.img")
    os.symlink(outside, f"{repository}/PC-0002/linked-dir")
    result = offsite.run("sync", "main", "--json")
    checks.ok(result.rc == 0, "sync with symlinks in the repository exits 0", result.describe())
    parsed = result.json() or {}
    skipped = {entry.get("path") for entry in parsed.get("files_skipped", []) if isinstance(entry, dict)}
    checks.ok("PC-0001/Daily/link.img" in skipped, "files_skipped lists the symlink to a file", result.stdout)
    checks.ok("PC-0002/linked-dir" in skipped, "files_skipped lists the symlink to a directory", result.stdout)
    checks.ok(all(isinstance(e, dict) and "reason" in e for e in parsed.get("files_skipped", [])),
              "every files_skipped entry has a path and a reason", result.stdout)
    mirror_now = common.snapshot(mirror)
    leaked = [p for p in mirror_now if "link" in p or "secret" in p]
    checks.ok(not leaked, "no symlink, and nothing it points to, reached the mirror", "\n".join(leaked))
    common.mirror_checks(checks, repository, mirror, "with symlinks")
    os.remove(f"{repository}/PC-0001/Daily/link.img")
    os.remove(f"{repository}/PC-0002/linked-dir")

    log("== remote ID of another repository")
    id_file = os.path.join(mirror, ".offsite", "repository-id")
    with open(id_file) as source:
        own_id = source.read()
    with open(id_file, "w") as out:
        out.write(str(uuid.uuid4()) + "\n")
    common.write_file(f"{repository}/PC-0001/Daily/incr-06.img", 9_000, rng)
    before = common.tree_listing(target)
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 3, "sync against a remote with another ID exits 3", result.describe())
    checks.ok("Remote server ID does not match this repository" in result.output,
              "the message says 'Remote server ID does not match this repository'", result.describe())
    checks.ok("offsite reinitialize" in result.output, "the message suggests 'offsite reinitialize'",
              result.describe())
    checks.ok(common.tree_listing(target) == before, "the refused sync wrote nothing on the target",
              diff_listing(before, common.tree_listing(target)))
    with open(id_file, "w") as out:
        out.write(own_id)
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 0, "with its own ID back, sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "after the ID was restored")

    log("== claiming a folder that holds foreign files")
    foreign = os.path.join(target, "Foreign")
    common.write_file(f"{foreign}/old-tool/data.bin", 4_000, rng)
    common.write_file(f"{foreign}/readme.txt", 100, rng)
    before = common.tree_listing(target, directory_mtimes=False)
    result = offsite.run("sync", "foreign")
    checks.ok(result.rc == 5, "claiming a folder with foreign files is refused with exit 5", result.describe())
    checks.ok("old-tool" in result.output and "readme.txt" in result.output,
              "the refusal lists the foreign files (or their top-level folder)", result.describe())
    after = common.tree_listing(target, directory_mtimes=False)
    checks.ok(after == before, "the refused claim left no file or folder on the target", diff_listing(before, after))
    result = offsite.run("sync", "foreign", "--reinitialize")
    checks.ok(result.rc == 0, "sync --reinitialize takes the folder over and exits 0", result.describe())
    common.mirror_checks(checks, repository, foreign, "after sync --reinitialize (foreign files deleted)")
    common.verify_deep(checks, offsite, "foreign", " (after the takeover)")
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 0, "the other folder of the same target still syncs (exit 0)", result.describe())
    common.mirror_checks(checks, repository, mirror, "the other folder")

    torn_file_check(exe, checks, base, rng)
    damaged_kept_upload_check(exe, checks, base, rng)
    checks.finish()


def diff_listing(before, after):
    lines = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            lines.append(f"{path}: {before.get(path)} -> {after.get(path)}")
    return "\n".join(lines[:30])


def torn_file_check(exe, checks, base, rng):
    """A file rewritten while the sync reads it (allow_backups_during_sync): never committed torn."""
    log("== a file rewritten while it is read (allow_backups_during_sync)")
    repository = os.path.join(base, "torn-repository")
    target = os.path.join(base, "torn-target")
    os.makedirs(target)
    size = 24 << 20
    config = common.write_config(os.path.join(base, "torn.toml"), state_dir=os.path.join(base, "torn-state"),
                                 repositories=[{
                                     "name": "torn", "path": repository, "folder": "Torn", "chunk_size": "64KiB",
                                     "bandwidth_limit": "4MiB/s", "allow_backups_during_sync": True,
                                     "concurrency": 1, "max_change_percent": 100,
                                     "target": {"type": "local", "path": target}}])
    offsite = common.Offsite(exe, config)
    big = f"{repository}/PC-0001/Daily/full-01.img"
    versions = []

    def write_version(tag):
        data = (tag * (size // len(tag) + 1))[:size]
        with open(big, "r+b" if os.path.exists(big) else "wb") as out:
            out.write(data)
        common.bump_mtime(big, 2 + len(versions))
        versions.append(data)

    os.makedirs(os.path.dirname(big))
    write_version(b"version-1 ")
    common.write_file(f"{repository}/PC-0001/Daily/incr-01.img", 1000, rng)
    result = common.Offsite(exe, config).run("sync", "torn", env=None, timeout=120)
    checks.ok(result.rc == 0, "torn: the first sync exits 0", result.describe())
    write_version(b"version-2 ")
    process = offsite.start("sync", "torn", "--json")
    time.sleep(2.0)  # about 8 of the 24 MiB read at 4 MiB/s
    if process.poll() is not None:
        checks.skip("torn file", "the sync finished before the file could be rewritten mid-read")
        common.finish(process)
        return
    write_version(b"version-3 ")
    result = common.finish(process, timeout=120)
    mirrored = os.path.join(target, "Torn", "PC-0001/Daily/full-01.img")
    with open(mirrored, "rb") as source:
        content = source.read()
    which = [index + 1 for index, data in enumerate(versions) if data == content]
    checks.ok(bool(which), f"torn: the mirror holds one whole version of the file (version {which}), never a mix",
              f"mirror size {len(content)}, starts {content[:20]!r}, middle {content[size // 2:size // 2 + 20]!r}")
    parsed = result.json() or {}
    skipped = [entry.get("path") for entry in parsed.get("files_skipped", []) if isinstance(entry, dict)]
    checks.ok("PC-0001/Daily/full-01.img" in skipped,
              "torn: the result lists the file changed while read in files_skipped", result.describe())
    checks.ok(result.rc in (0, 1), f"torn: the sync ends with exit 0 or 1 (got {result.rc})", result.describe())
    result = offsite.run("sync", "torn")
    checks.ok(result.rc == 0, "torn: the next sync exits 0", result.describe())
    common.mirror_checks(checks, repository, os.path.join(target, "Torn"), "torn: the next sync picks it up")


def damaged_kept_upload_check(exe, checks, base, rng):
    """A sync killed mid-upload leaves a staged partial file that the next sync resumes. If the
    disk lost some of its bytes meanwhile (a USB disk unplugged mid-write), the local target's
    resume reads the kept bytes back, sees the difference and uploads the file again: never a
    commit of bytes the local file does not have."""
    log("== a kept partial upload damaged before it is resumed (local target)")
    repository = os.path.join(base, "kept-repository")
    target = os.path.join(base, "kept-target")
    os.makedirs(target)
    config = common.write_config(os.path.join(base, "kept.toml"), state_dir=os.path.join(base, "kept-state"),
                                 repositories=[{
                                     "name": "kept", "path": repository, "folder": "Kept", "chunk_size": "64KiB",
                                     "bandwidth_limit": "2MiB/s", "concurrency": 1,
                                     "target": {"type": "local", "path": target}}])
    offsite = common.Offsite(exe, config)
    name = "PC-0001/Daily/full-01.img"
    common.write_file(f"{repository}/{name}", 8 << 20, rng)
    process = offsite.start("sync", "kept")
    staged, deadline = None, time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        found = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(target, "Kept", ".offsite", "tx"))
                 for f in fs if os.path.join(d, f).endswith(name)]
        if found and os.path.getsize(found[0]) >= 1 << 20:
            staged = found[0]
            break
        time.sleep(0.05)
    if staged is None:
        checks.ok(False, "kept: the first sync was still uploading 1 MiB in (killed then)", "")
        common.finish(process)
        return
    os.killpg(process.pid, 9)
    common.finish(process)
    with open(staged, "r+b") as damaged:  # one byte of the kept prefix, as a lost write leaves it
        damaged.seek(100_000)
        byte = damaged.read(1)
        damaged.seek(100_000)
        damaged.write(bytes([byte[0] ^ 0x01]))
    result = offsite.run("sync", "kept", "--json")
    checks.ok(result.rc == 0, "kept: the sync after the kill exits 0", result.describe())
    checks.ok("kept_bytes_differ" in result.stderr, "kept: it says the kept bytes differ (upload.kept_bytes_differ)",
              result.describe())
    uploaded = (result.json() or {}).get("bytes_uploaded")
    checks.ok(uploaded == 8 << 20, f"kept: the file is uploaded again from its start ({uploaded} bytes)",
              result.describe())
    common.mirror_checks(checks, repository, os.path.join(target, "Kept"), "kept: after the resume")
    common.verify_deep(checks, offsite, "kept", " (after the damaged resume)")

if __name__ == "__main__":
    main()
