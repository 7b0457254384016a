#!/usr/bin/env python3
"""s3_scenarios: `offsite` against the S3 test server (tests/servers/s3), which verifies every
signature and payload hash, as an administrator drives it.

Usage: s3_scenarios.py OFFSITE_EXE

Checks: a first sync over HTTPS (the test CA as ca_file) with a multi-part file (12 MiB in 5 MiB
parts: 3 UploadParts, an object of 3 parts, two or more of them in flight at once), 1,100 files in one folder (more than a listing
page) and awkward names; the next day (new, deleted, rewritten-in-place files) over the same
target; `verify --deep` and `restore` after each; `test-connection` passes, and names the action
when one is refused; a wrong secret is a clear error that shows no secret; a remote ID of
another repository stops the sync (exit 3) and writes nothing; claiming a folder with foreign
objects is refused (exit 5), `--reinitialize` takes it over; no multipart upload is left open,
and the secret key appears in no output or state file.
"""

import os
import random
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import s3_common  # noqa: E402
from common import log  # noqa: E402

PREFIX = "t"
MiB = 1 << 20


def read_tree_text(root):
    texts = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            try:
                with open(os.path.join(directory, name), errors="replace") as source:
                    texts.append(source.read())
            except OSError:
                pass
    return "\n".join(texts)


def diff_objects(before, after):
    return "\n".join(f"{key}: {before.get(key)} -> {after.get(key)}"
                     for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key))


def main():
    exe = sys.argv[1]
    checks = common.Checks("s3_scenarios")
    server = s3_common.start_server()
    s3_common.require_s3_target(exe, server)
    rng = random.Random(5)
    base = common.temp_dir("s3-scenarios")
    repository = os.path.join(base, "repository")
    state_dir = os.path.join(base, "state")
    remote = os.path.join(base, "remote")  # the bucket's t/ prefix, downloaded after each run
    mirror = os.path.join(remote, "Site")
    config = common.write_config(os.path.join(base, "offsite.toml"), state_dir=state_dir, repositories=[
        {"name": "main", "path": repository, "folder": "Site", "chunk_size": "5MiB", "concurrency": 3,
         "target": s3_common.s3_target(server, PREFIX, https=True)},
        {"name": "foreign", "path": repository, "folder": "Foreign", "chunk_size": "5MiB",
         "target": s3_common.s3_target(server, PREFIX)},
    ])
    offsite = s3_common.S3Offsite(exe, config, server, remote, PREFIX + "/")
    outputs = []

    big = "PC-0001/Daily/full-01.img"
    common.write_file(f"{repository}/{big}", 12 * MiB + 1, rng)
    for pc in ("PC-0001", "PC-0002"):
        for day in range(1, 4):
            common.write_file(f"{repository}/{pc}/Daily/incr-0{day}.img", rng.randint(1_000, 90_000), rng)
    common.write_file(f"{repository}/PC-0002/Daily/name with space+plus&co ü.img", 3_000, rng)
    for index in range(1100):
        common.write_file(f"{repository}/PC-0003/Many/f{index:04d}.bin", 16, rng)

    log("== first sync over HTTPS")
    result = offsite.run("sync", "main", "--json")
    outputs.append(result.output)
    checks.ok(result.rc == 0, "first sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "first sync")
    key = f"{PREFIX}/Site/{big}"
    parts = [e for e in s3_common.requests(server, "UploadPart", key) if e["status"] == 200]
    stored = {o["key"]: o for o in server.objects()}
    checks.ok(len(parts) == 3 and stored.get(key, {}).get("parts") == 3,
              "the 12 MiB file went up as 3 parts of 5 MiB and is one object of 3 parts",
              f"{len(parts)} UploadParts; object {stored.get(key)}")
    # Reading a part takes milliseconds, sending it much longer: the next part is read and sent
    # while the one before is still in flight (parts in flight, uploader.cpp).
    in_flight = server.control("stats").get("max_parts_in_flight", 0)
    checks.ok(in_flight >= 2, "parts of one file are uploaded in parallel",
              f"at most {in_flight} UploadPart of one upload at a time")
    checks.ok(not s3_common.open_uploads(server), "no multipart upload is left open", server.uploads())
    common.verify_deep(checks, offsite, "main", " (first sync)")
    restored = os.path.join(base, "restored-1")
    result = offsite.run("restore", "main", "--to", restored)
    outputs.append(result.output)
    checks.ok(result.rc == 0 and common.snapshot(restored) == common.snapshot(repository),
              "restore from S3 gives back the repository", result.describe() + common.diff_snapshots(
                  common.snapshot(repository), common.snapshot(restored) if os.path.isdir(restored) else {}))

    log("== next day")
    os.remove(f"{repository}/PC-0001/Daily/incr-01.img")
    common.write_file(f"{repository}/PC-0001/Daily/incr-04.img", 50_000, rng)
    common.rewrite_in_place(f"{repository}/{big}", rng)
    common.write_file(f"{repository}/PC-0002/Daily/incr-02.img", 12_345, rng)
    common.bump_mtime(f"{repository}/PC-0002/Daily/incr-02.img")
    since = server.mark()
    result = offsite.run("sync", "main", "--json")
    outputs.append(result.output)
    checks.ok(result.rc == 0, "next-day sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "next-day sync")
    parsed = result.json() or {}
    checks.ok(sorted(parsed.get("files_uploaded", [])) == sorted([big, "PC-0001/Daily/incr-04.img", "PC-0002/Daily/incr-02.img"])
              and parsed.get("files_deleted") == ["PC-0001/Daily/incr-01.img"],
              "it uploads exactly the new and changed files and deletes the purged one", result.stdout)
    copies = s3_common.requests(server, "CopyObject", since=since) + s3_common.requests(server, "UploadPartCopy", since=since)
    log(f"  note  the rewritten file was replaced with {len(copies)} server-side copy request(s)")
    # The committed version of the rewritten file stays readable until the new one replaces it:
    # the copy overwrites the key, nothing deletes it first.
    final_deletes = [e["key"] for e in s3_common.requests(server, "DeleteObject", since=since)
                     if (e["key"] or "").endswith("/" + big) and "/.offsite/" not in e["key"]]
    checks.ok(copies and not final_deletes, "the rewritten file's key is replaced by a copy, never deleted first",
              final_deletes)
    checks.ok(not s3_common.open_uploads(server), "no multipart upload is left open", server.uploads())
    common.verify_deep(checks, offsite, "main", " (next day)")

    log("== test-connection")
    result = offsite.run("test-connection", "main")
    outputs.append(result.output)
    checks.ok(result.rc == 0, "test-connection exits 0", result.describe())
    server.add_fault(action="AbortMultipartUpload", mode="status", status=403, count=-1)
    result = offsite.run("test-connection", "main")
    outputs.append(result.output)
    server.clear_faults()
    checks.ok(result.rc == 1 and "abort" in result.output.lower(),
              "test-connection with AbortMultipartUpload refused (403) exits 1 and names that action", result.describe())
    # Its probe upload could not be aborted; the next sync's recovery must discard it (checked
    # at the end), and a test-connection passes again.
    result = offsite.run("test-connection", "main")
    outputs.append(result.output)
    checks.ok(result.rc == 0, "with the fault gone, test-connection exits 0 again", result.describe())

    log("== a wrong secret")
    wrong_secret = os.path.join(base, "wrong.secret")
    with open(wrong_secret, "w") as out:
        out.write("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    os.chmod(wrong_secret, 0o600)
    wrong = common.write_config(os.path.join(base, "wrong.toml"), state_dir=os.path.join(base, "state-wrong"), repositories=[
        {"name": "main", "path": repository, "folder": "Site",
         "target": s3_common.s3_target(server, PREFIX, secret_access_key_file=wrong_secret)}])
    before = s3_common.objects(server)
    result = common.Offsite(exe, wrong).run("sync", "main")
    outputs.append(result.output)
    checks.ok(result.rc == 1 and "signature" in result.output.lower(),
              "a wrong secret: sync exits 1 and says the signature does not match", result.describe())
    checks.ok("wJalrXUtnFEMI" not in result.output, "the wrong secret is not shown either")
    after = s3_common.objects(server)
    checks.ok(after == before, "nothing was written", diff_objects(before, after))

    log("== remote ID of another repository")
    id_key = f"{PREFIX}/Site/.offsite/repository-id"
    client = server.client()
    own_id = client.get(s3_common.BUCKET, id_key).body
    checks.ok(len(own_id) > 30, "the remote holds the repository ID", own_id)
    client.put(s3_common.BUCKET, id_key, (str(uuid.uuid4()) + "\n").encode())
    common.write_file(f"{repository}/PC-0001/Daily/incr-05.img", 9_000, rng)
    before = s3_common.objects(server)
    result = offsite.run("sync", "main")
    outputs.append(result.output)
    checks.ok(result.rc == 3, "sync against a remote with another ID exits 3", result.describe())
    checks.ok("Remote server ID does not match this repository" in result.output,
              "the message says 'Remote server ID does not match this repository'", result.describe())
    after = s3_common.objects(server)
    checks.ok(after == before, "the refused sync wrote nothing in the bucket", diff_objects(before, after))
    client.put(s3_common.BUCKET, id_key, own_id)
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 0, "with its own ID back, sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "after the ID was restored")

    log("== claiming a folder that holds foreign objects")
    client.put(s3_common.BUCKET, f"{PREFIX}/Foreign/old-tool/data.bin", os.urandom(4000))
    client.put(s3_common.BUCKET, f"{PREFIX}/Foreign/readme.txt", b"someone else's")
    client.close()
    before = s3_common.objects(server)
    result = offsite.run("sync", "foreign")
    outputs.append(result.output)
    checks.ok(result.rc == 5, "claiming a folder with foreign objects is refused with exit 5", result.describe())
    checks.ok("old-tool" in result.output and "readme.txt" in result.output,
              "the refusal lists the foreign objects (or their top-level folder)", result.describe())
    after = s3_common.objects(server)
    checks.ok(after == before, "the refused claim wrote nothing in the bucket", diff_objects(before, after))
    result = offsite.run("sync", "foreign", "--reinitialize")
    outputs.append(result.output)
    checks.ok(result.rc == 0, "sync --reinitialize takes the folder over and exits 0", result.describe())
    common.mirror_checks(checks, repository, os.path.join(remote, "Foreign"), "after sync --reinitialize")
    common.verify_deep(checks, offsite, "foreign", " (after the takeover)")
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 0, "the other folder still syncs (exit 0)", result.describe())
    common.mirror_checks(checks, repository, mirror, "the other folder")
    restored = os.path.join(base, "restored-2")
    result = offsite.run("restore", "main", "--to", restored)
    checks.ok(result.rc == 0 and common.snapshot(restored) == common.snapshot(repository),
              "restore after all that gives back the repository", result.describe())

    checks.ok(not s3_common.open_uploads(server), "in the end no multipart upload is open", server.uploads())
    s3_common.no_secret(checks, server, "all commands", *outputs, read_tree_text(state_dir))
    checks.finish()


if __name__ == "__main__":
    main()
