"""Helpers of the S3 integration tests: the S3 test server (tests/servers/s3) started for a test
and stopped by PID on exit, offsite configs pointing at it, and a local copy of the remote
(downloaded with our own signed GETs) so that the local-target checks of common.py and
crash_matrix.py (mirror equals repository, the committed state read independently) apply
unchanged to what is in the bucket.
"""

import os
import shutil
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "servers", "s3"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import common  # noqa: E402
from s3test import NS, S3Server  # noqa: E402,F401

BUCKET = "offsite-test"


def start_server(*server_args):
    """The S3 test server in a temporary run directory; skips the test (77) without node."""
    if not shutil.which("node"):
        common.log("node is not installed (scripts/install-deps.sh --tests): skipped")
        sys.exit(common.SKIP)
    run_dir = os.path.join(common.temp_dir("s3server"), "run")
    server = S3Server.start(run_dir, *server_args)
    common.on_exit(server.stop)
    return server


def require_s3_target(exe, server):
    """Skips the test (77) while this build has no S3 target."""
    base = common.temp_dir("s3-probe")
    os.makedirs(os.path.join(base, "repository"))
    config = common.write_config(os.path.join(base, "probe.toml"), state_dir=os.path.join(base, "state"),
                                 repositories=[{"name": "probe", "path": os.path.join(base, "repository"),
                                                "folder": "Probe", "target": s3_target(server, "probe")}])
    result = common.Offsite(exe, config).run("test-connection", "probe")
    if "not available in this build" in result.output:
        common.log(f"the S3 target is not in this build: skipped ({result.output.strip()})")
        sys.exit(common.SKIP)


def s3_target(server, prefix="", https=False, **extra):
    return server.target_config(prefix, https=https, **extra)


def list_keys(server, prefix=""):
    return list(list_entries(server, prefix))


def list_entries(server, prefix=""):
    """{key: ETag} of every object under prefix, through ListObjectsV2 pages (our client, signed)."""
    client = server.client(observer=True)
    keys = {}
    token = None
    while True:
        params = {"prefix": prefix}
        if token:
            params["continuation_token"] = token
        response = client.list_v2(BUCKET, **params)
        if response.status != 200:
            raise RuntimeError(f"listing {prefix!r}: {response}")
        root = response.xml()
        keys.update((c.findtext(f"{NS}Key"), c.findtext(f"{NS}ETag")) for c in root.findall(f"{NS}Contents"))
        if root.findtext(f"{NS}IsTruncated") != "true":
            break
        token = root.findtext(f"{NS}NextContinuationToken")
    client.close()
    return keys


_downloaded = {}  # destination -> {key: etag} of the files it holds


def download(server, destination, prefix=""):
    """Makes `destination` hold exactly the objects under prefix, as files (keys ending in '/',
    the directory markers, become directories). Listed with ListObjectsV2 and fetched with GET
    (our signed client); an object whose ETag did not change since the last call is kept."""
    held = _downloaded.setdefault(destination, {})
    if not os.path.isdir(destination):
        held.clear()
    client = server.client(observer=True)
    listed = list_entries(server, prefix)
    for key in set(held) - set(listed):
        path = os.path.join(destination, key[len(prefix):])
        if os.path.isfile(path):
            os.remove(path)
        del held[key]
    for key, etag in listed.items():
        path = os.path.join(destination, key[len(prefix):])
        if key.endswith("/"):
            os.makedirs(path, exist_ok=True)
            continue
        if held.get(key) == etag and os.path.isfile(path):
            continue
        response = client.get(BUCKET, key)
        if response.status != 200:
            raise RuntimeError(f"GET {key}: {response}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(response.body)
        held[key] = etag
    client.close()
    prune_empty_directories(destination)


def prune_empty_directories(root):
    """Directories left empty by deleted objects go too (S3 has no directories)."""
    for directory, dirs, names in os.walk(root, topdown=False):
        if directory != root and not dirs and not names and not os.listdir(directory):
            os.rmdir(directory)


def objects(server, prefix=""):
    """{key: (size, etag)} under prefix, from the server's control view (no request counted)."""
    return {o["key"]: (o["size"], o["etag"]) for o in server.objects(BUCKET) if o["key"].startswith(prefix)}


def open_uploads(server, prefix=""):
    return [u for u in server.uploads() if u["key"].startswith(prefix)]


def requests(server, action=None, key_prefix="", since=0):
    """The server's requests after sequence number `since` (server.mark()), optionally of one
    action and key prefix."""
    entries = server.log(200000, since)
    return [e for e in entries if (action is None or e["action"] == action) and (e["key"] or "").startswith(key_prefix)]


def quote_key(key):
    return urllib.parse.quote(key, safe="/-_.~")


class S3Offsite(common.Offsite):
    """common.Offsite whose every run() is followed by a fresh download of the remote into
    `mirror_root`, so that file-system checks see what the bucket holds."""

    def __init__(self, exe, config, server, mirror_root, prefix=""):
        super().__init__(exe, config)
        self.server = server
        self.mirror_root = mirror_root
        self.prefix = prefix
        self.after_start = None  # called with the process start() began, before start() returns

    def start(self, *command, env=None):
        process = super().start(*command, env=env)
        if self.after_start:
            self.after_start(process)
        return process

    def refresh(self):
        download(self.server, self.mirror_root, self.prefix)

    def run(self, *command, **kwargs):
        result = super().run(*command, **kwargs)
        started = time.monotonic()
        self.refresh()
        common.log(f"  time  {command[0]} {result.elapsed:.1f}s (exit {result.rc}), "
                   f"then the remote read back in {time.monotonic() - started:.1f}s")
        return result


def no_secret(checks, server, label, *texts):
    leaked = [i for i, text in enumerate(texts) if server.secret_key in (text or "")]
    checks.ok(not leaked, f"{label}: the secret key appears in no output", f"in outputs {leaked}")
