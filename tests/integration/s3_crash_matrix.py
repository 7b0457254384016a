#!/usr/bin/env python3
"""s3_crash_matrix: crash_matrix.py's SIGKILL matrix with the S3 target (tests/servers/s3).

Usage: s3_crash_matrix.py OFFSITE_EXE [--full]

The same scenarios, named crash points and random instants as crash_matrix.py, and the same
checks after each kill and after recovery (committed state intact and never torn, the next sync
succeeds, the mirror equals the repository, `verify --deep` passes, one more sync changes
nothing). The mirror those checks read is the bucket, downloaded after every command with our own
signed GETs; the repository gains an 11 MiB file so that uploads are multipart (5 MiB parts).
Each point starts from a server restarted on a saved store. Added here: after recovery no
multipart upload is left open in the bucket (listed through the server), and a kill during a
multipart upload (a named point: right after the server confirmed its first part) is resumed at
part granularity: the recovering sync does not send again the parts the server had confirmed.

Environment: as crash_matrix.py (OFFSITE_CRASH_SEED, OFFSITE_CRASH_POINTS, OFFSITE_CRASH_FULL).
The full matrix (>= 50 points): python3 tests/integration/s3_crash_matrix.py BUILD/src/offsite --full
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import crash_matrix  # noqa: E402
import s3_common  # noqa: E402
from common import log  # noqa: E402

BIG = "PC-0005/Daily-System/full-2026-11-15.img"
BIG_SIZE = 11 * (1 << 20)
_make_day1 = crash_matrix.make_day1


def make_day1_with_big_file(root, rng):
    _make_day1(root, rng)
    common.write_file(os.path.join(root, BIG), BIG_SIZE, rng)


crash_matrix.make_day1 = make_day1_with_big_file


class S3Matrix(crash_matrix.Matrix):
    def __init__(self, exe, checks, seed, sshd=None):
        super().__init__(exe, checks, seed)  # no sshd: this matrix brings its own server
        self.server = s3_common.start_server()
        s3_common.require_s3_target(exe, self.server)
        self.store_day1 = os.path.join(self.templates, "s3-store-day1")
        self.part_resumes = 0
        self.kill_after_part = False

    def offsite(self, bandwidth="0", per_folder=True):
        config = os.path.join(self.base, f"s3-config-{bandwidth.replace('/', '')}-{per_folder}.toml")
        if not os.path.exists(config):
            common.write_config(config, state_dir=self.state_dir, repositories=[{
                "name": crash_matrix.NAME, "path": self.repository, "folder": crash_matrix.FOLDER,
                "chunk_size": "5MiB", "bandwidth_limit": bandwidth, "per_folder_upload": per_folder,
                "concurrency": 3, "target": s3_common.s3_target(self.server)}])
        offsite = s3_common.S3Offsite(self.exe, config, self.server, self.target)
        if self.kill_after_part:
            offsite.after_start = self.wait_for_a_part
        return offsite

    def wait_for_a_part(self, process):
        """Returns once the server holds a confirmed part of an open upload (or the sync ended)."""
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if any(u["parts"] for u in self.server.uploads()):
                return
            time.sleep(0.02)

    def refresh(self):
        s3_common.download(self.server, self.target)

    def prepare(self):
        if not super().prepare():
            return False
        # The bucket still holds day 1 (make_day2 changed only the repository).
        self.server.save_store(self.store_day1)
        return True

    def reset(self, scenario):
        super().reset(scenario)
        self.server.restart(self.store_day1 if scenario["base"] else None)
        self.refresh()

    def after_kill(self, label, scenario, acceptable):
        self.refresh()
        self.confirmed_parts = {u["upload_id"]: len(u["parts"]) for u in self.server.uploads()}
        self.log_mark = self.server.mark()
        super().after_kill(label, scenario, acceptable)

    def run_point(self, scenario_name, scenario, steps):
        self.confirmed_parts = {}
        self.log_mark = 0
        self.kill_after_part = steps == [("kill", 0.0)]
        if self.kill_after_part:
            log("  (the kill comes once the server confirmed a part of the multipart upload)")
        super().run_point(scenario_name, scenario, steps)
        self.kill_after_part = False
        label = f"[{scenario_name}] {steps}"
        left = self.server.uploads()
        self.checks.ok(not left, f"{label}: no multipart upload is left open after recovery",
                       "\n".join(f"{u['key']} {u['upload_id']} ({len(u['parts'])} parts)" for u in left))
        resumed = {uid: n for uid, n in self.confirmed_parts.items() if n}
        if resumed:
            # The recovering sync's UploadParts of the upload(s) the kill interrupted.
            sent = {}
            for entry in self.server.log(200000, self.log_mark):
                if entry["action"] == "UploadPart" and entry["status"] == 200:
                    sent[entry["key"]] = sent.get(entry["key"], 0) + 1
            big_key = f"{crash_matrix.FOLDER}/{BIG}"
            total_parts = -(-BIG_SIZE // (5 << 20))
            again = sent.get(big_key, 0)
            confirmed = max(resumed.values())
            self.part_resumes += 1
            log(f"  note  kill number {self.part_resumes} inside a multipart upload with confirmed parts")
            self.checks.ok(again <= total_parts - confirmed,
                           f"{label}: the killed multipart upload resumed at part granularity "
                           f"({confirmed} of {total_parts} parts confirmed before the kill, {again} sent after)",
                           f"UploadParts after the kill by key: {sent}")


_named_points = crash_matrix.named_points


def named_points_with_a_part_kill(full):
    """crash_matrix's named points, and a kill right after the first confirmed part of the
    multipart upload (the delay 0.0 arms S3Matrix.wait_for_a_part)."""
    return _named_points(full) + [("first", [("kill", 0.0)])]


def main():
    # crash_matrix.main() drives whatever its module calls Matrix and named_points: ours.
    crash_matrix.Matrix = S3Matrix
    crash_matrix.named_points = named_points_with_a_part_kill
    crash_matrix.LABEL = "s3"
    return crash_matrix.main()


if __name__ == "__main__":
    sys.exit(main())
