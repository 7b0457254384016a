#!/usr/bin/env python3
"""sftp_scenarios: `offsite` against a private OpenSSH sshd (tests/servers/sshd.py), as users drive it.

Usage: sftp_scenarios.py OFFSITE_EXE

Checks (BRIEF §2, §5, §9; issue 5):
  - trust: an unknown host key is refused with its SHA-256 fingerprint and the accepting command;
    --accept-host-key=SHA256:<other> trusts nothing; --accept-host-key writes known_hosts under
    state_dir; a changed key is refused loudly, even with --accept-host-key;
  - logins: a wrong password and an unauthorised key give clear errors; a password login and an
    encrypted key with its passphrase work;
  - a first sync and a next-day sync leave the mirror equal to the repository; verify --deep
    passes; a no-change sync uploads nothing;
  - a lost local ID: exit 3 with the message of §5.5; `reinitialize` then a sync takes over;
  - restore downloads the committed state; paths with spaces, unicode, %, #, quotes survive;
  - SIGTERM during an upload stops within 10 s (exit 4); the next sync resumes and completes;
  - no password or passphrase appears in any output or file under state_dir or the remote.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
import common  # noqa: E402
from common import log  # noqa: E402
from sshd import Sshd  # noqa: E402

PASSWORD = "Sftp-Pa55w0rd-5c1e77"
WRONG_PASSWORD = "Wrong-Pa55w0rd-0a9f3"
PASSPHRASE = "Key-Phra5e-d41b2c"
SECRETS = (PASSWORD, WRONG_PASSWORD, PASSPHRASE)


class Outputs:
    """Every command's output, for the secrets check at the end."""

    def __init__(self, offsite):
        self.offsite = offsite
        self.seen = []

    def run(self, *args, **kwargs):
        result = self.offsite.run(*args, **kwargs)
        self.seen.append(result)
        return result


def files_containing(root, secrets):
    found = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as source:
                    data = source.read()
            except OSError:
                continue
            for secret in secrets:
                if secret.encode() in data:
                    found.append(f"{path} holds {secret[:4]}…")
    return found


def make_repository(root, rng):
    for pc in ("PC-0001", "PC-0002"):
        common.write_file(f"{root}/{pc}/Daily/full-01.img", rng.randint(300_000, 900_000), rng)
        for day in range(1, 4):
            common.write_file(f"{root}/{pc}/Daily/incr-0{day}.img", rng.randint(1_000, 60_000), rng)
    for odd in ("with space.img", "ünïcödé-名前.img", "100%.img", "#hash.img", "single'quote.img", 'double"q.img'):
        common.write_file(f"{root}/PC-0003/Odd Names/{odd}", rng.randint(10, 5000), rng)


def main():
    exe = sys.argv[1]
    checks = common.Checks("sftp_scenarios")
    rng = random.Random(5)
    server = Sshd()
    common.on_exit(server.stop)
    server.start()
    base = common.temp_dir("sftp-scenarios")
    repository = os.path.join(base, "repository")
    state_dir = os.path.join(base, "state")
    target = os.path.join(server.root, "offsite target")  # a space in the target path too
    os.makedirs(target)
    mirror = os.path.join(target, "Site")
    make_repository(repository, rng)

    locked_key = os.path.join(base, "locked_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", PASSPHRASE, "-f", locked_key], check=True)
    server.authorize(locked_key + ".pub")
    stranger_key = os.path.join(base, "stranger_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger_key], check=True)
    password_user = server.password_account(PASSWORD)
    password_target = os.path.join(base, "password-target")
    os.makedirs(password_target)
    if password_user:
        shutil.chown(password_target, user=password_user)
        os.chmod(base, 0o755)

    sftp = {"type": "sftp", "host": "127.0.0.1", "port": server.port, "path": target, "username": server.user}
    repositories = [
        {"name": "main", "path": repository, "folder": "Site", "chunk_size": "64KiB", "concurrency": 3,
         "target": dict(sftp, private_key=server.client_key)},
        {"name": "locked-key", "path": repository, "folder": "Locked", "chunk_size": "64KiB",
         "target": dict(sftp, private_key=locked_key, private_key_passphrase=PASSPHRASE)},
        {"name": "throttled", "path": repository, "folder": "Throttled", "chunk_size": "64KiB",
         "bandwidth_limit": "1MiB/s", "target": dict(sftp, private_key=server.client_key)},
        {"name": "stranger", "path": repository, "folder": "Stranger", "chunk_size": "64KiB",
         "target": dict(sftp, private_key=stranger_key)},
        {"name": "wrong-password", "path": repository, "folder": "Wrong", "chunk_size": "64KiB",
         "target": dict(sftp, username=password_user or "nobody", password=WRONG_PASSWORD)},
    ]
    if password_user:
        repositories.append({"name": "password", "path": repository, "folder": "Pw", "chunk_size": "64KiB",
                             "target": dict(sftp, path=password_target, username=password_user, password=PASSWORD)})
    config = common.write_config(os.path.join(base, "offsite.toml"), state_dir=state_dir, repositories=repositories)
    offsite = Outputs(common.Offsite(exe, config))
    known_hosts = os.path.join(state_dir, "known_hosts")

    log("== trust: an unknown host key")
    result = offsite.run("sync", "main")
    fingerprints = [fp for _public, fp in server.host_keys.values()]
    checks.ok(result.rc == 1, "sync to an unknown server exits 1", result.describe())
    checks.ok(any(fp in result.output for fp in fingerprints), "the error shows the server's SHA256 fingerprint",
              result.describe())
    checks.ok("offsite test-connection main --accept-host-key=SHA256:" in result.output,
              "the error gives the command that accepts the key", result.describe())
    checks.ok(not os.path.exists(mirror), "nothing was written to the unknown server")
    result = offsite.run("test-connection", "main", "--accept-host-key=SHA256:" + "A" * 43)
    checks.ok(result.rc == 1 and "nothing was trusted" in result.output,
              "--accept-host-key with another fingerprint trusts nothing", result.describe())
    checks.ok(not os.path.exists(known_hosts) or not open(known_hosts).read().strip(),
              "known_hosts is still empty")
    result = offsite.run("test-connection", "main", "--accept-host-key")
    checks.ok(result.rc == 0, "test-connection --accept-host-key passes", result.describe())
    checks.ok(os.path.exists(known_hosts) and f"[127.0.0.1]:{server.port} " in open(known_hosts).read(),
              "the key was written to <state_dir>/known_hosts as [host]:port")

    log("== logins")
    result = offsite.run("test-connection", "wrong-password")
    checks.ok(result.rc == 1 and "refused the password" in result.output,
              "a wrong password: exit 1, 'refused the password'", result.describe())
    result = offsite.run("test-connection", "stranger")
    checks.ok(result.rc == 1 and f"refused the key {stranger_key}" in result.output,
              "an unauthorised key: exit 1, the key file named", result.describe())
    result = offsite.run("test-connection", "locked-key")
    checks.ok(result.rc == 0, "an encrypted key with its passphrase logs in", result.describe())
    if password_user:
        result = offsite.run("test-connection", "password")
        checks.ok(result.rc == 0, "a password login works", result.describe())
        result = offsite.run("sync", "password")
        checks.ok(result.rc == 0, "a sync over a password login exits 0", result.describe())
        common.mirror_checks(checks, repository, os.path.join(password_target, "Pw"), "password sync")
    else:
        checks.skip("password login", "not root: no local account with a password can be made")

    log("== first sync, next day, no change")
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 0, "first sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "first sync")
    os.remove(f"{repository}/PC-0001/Daily/incr-01.img")
    common.write_file(f"{repository}/PC-0001/Daily/incr-04.img", 70_000, rng)
    common.rewrite_in_place(f"{repository}/PC-0002/Daily/full-01.img", rng)
    common.write_file(f"{repository}/PC-0004/Daily/full-01.img", 400_000, rng)
    result = offsite.run("sync", "main", "--json")
    checks.ok(result.rc == 0, "next-day sync exits 0", result.describe())
    common.mirror_checks(checks, repository, mirror, "next-day sync")
    common.verify_deep(checks, offsite.offsite, "main")
    offsite.seen.append(offsite.offsite.run("verify", "--deep", "main", "--json"))
    result = offsite.run("sync", "main", "--json")
    outcome = result.json() or {}
    checks.ok(result.rc == 0 and not outcome.get("files_uploaded") and outcome.get("bytes_uploaded") == 0,
              "a no-change sync uploads nothing", result.describe())

    log("== restore")
    restored = os.path.join(base, "restored")
    result = offsite.run("restore", "main", "--to", restored)
    checks.ok(result.rc == 0, "restore exits 0", result.describe())
    expected = {p: v for p, v in common.snapshot(repository).items()}
    actual = common.snapshot(restored) if os.path.isdir(restored) else {}
    checks.ok(expected == actual, "the restored tree equals the repository", common.diff_snapshots(expected, actual))

    log("== SIGTERM during an upload")
    process = offsite.offsite.start("sync", "throttled")
    time.sleep(1.0)
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    result = common.finish(process, timeout=60)
    offsite.seen.append(result)
    took = time.monotonic() - stopped_at
    checks.ok(result.rc == 4 and took <= 10, f"SIGTERM stops the sync in {took:.1f}s with exit 4", result.describe())
    result = offsite.run("sync", "throttled")
    checks.ok(result.rc == 0, "the next sync completes", result.describe())
    common.mirror_checks(checks, repository, os.path.join(target, "Throttled"), "after SIGTERM")

    log("== a lost local ID, then reinitialize")
    os.remove(os.path.join(repository, ".offsite", "repository-id"))
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 3 and "Remote server ID does not match this repository" in result.output,
              "a new local ID: exit 3, 'Remote server ID does not match this repository'", result.describe())
    result = offsite.run("reinitialize", "main")
    checks.ok(result.rc == 0, "reinitialize exits 0", result.describe())
    common.write_file(f"{repository}/PC-0001/Daily/incr-05.img", 30_000, rng)
    result = offsite.run("sync", "main", "--json")
    outcome = result.json() or {}
    checks.ok(result.rc == 0, "the sync after reinitialize exits 0", result.describe())
    checks.ok(outcome.get("bytes_uploaded", 1 << 40) <= 30_000,
              "it uploads only the new file (the previous owner's matching files are kept)", result.describe())
    common.mirror_checks(checks, repository, mirror, "after reinitialize")
    common.verify_deep(checks, offsite.offsite, "main", " (after reinitialize)")

    log("== trust: a changed host key")
    server.replace_host_keys()
    result = offsite.run("sync", "main")
    checks.ok(result.rc == 1 and "HAS CHANGED" in result.output, "a changed host key: exit 1, 'HAS CHANGED'",
              result.describe())
    new_fingerprints = [fp for _public, fp in server.host_keys.values()]
    checks.ok(any(fp in result.output for fp in new_fingerprints), "the message shows the new fingerprint",
              result.describe())
    result = offsite.run("test-connection", "main", "--accept-host-key")
    checks.ok(result.rc == 1 and "HAS CHANGED" in result.output,
              "--accept-host-key does not override a changed key", result.describe())

    log("== secrets")
    leaked = [f"{' '.join(r.args[3:])}: output holds {s[:4]}…" for r in offsite.seen for s in SECRETS if s in r.output]
    checks.ok(not leaked, f"no password or passphrase in the output of {len(offsite.seen)} commands",
              "\n".join(leaked))
    leaked_files = files_containing(state_dir, SECRETS) + files_containing(target, SECRETS)
    checks.ok(not leaked_files, "no password or passphrase in state_dir or on the remote", "\n".join(leaked_files))
    checks.finish()


if __name__ == "__main__":
    main()
