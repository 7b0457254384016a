#!/usr/bin/env python3
"""crash_matrix: SIGKILL `offsite sync` at named crash points and random instants.

Usage: crash_matrix.py OFFSITE_EXE [--full] [--target local|sftp]

--target sftp runs the same matrix against a private OpenSSH sshd (tests/servers/sshd.py) serving
a local directory, so the checks below read the remote's files directly, as for the local target.

Scenarios: a first sync (empty remote), and a next-day sync on top of a committed state (new,
deleted, rewritten-in-place files, a folder removed). Each point resets the repository, target and
state_dir from templates, kills one sync (or a chain of syncs: a crash, a change, a crash during
the recovery), and then checks:
  - right after each kill, the remote's committed state (highest valid commit record, read and
    checksummed here independently of offsite) has a generation >= the last successful one, every
    file it names is present (in place, or staged while pending) with its recorded size and
    XXH3-128, and every folder equals either its last committed content or the content a killed
    sync started from: a committed state is never lost, and never torn;
  - the next sync (no crash point) exits 0, the mirror equals the repository by content, nothing
    remains under <folder>/.offsite/tx/, the committed state names exactly the repository, and
    `verify --deep` passes (skipped, and said so, while verify is not built);
  - one more sync changes nothing and writes no commit record.

Environment:
  OFFSITE_CRASH_SEED    PRNG seed for the random instants (default 20261124)
  OFFSITE_CRASH_POINTS  total number of points (named + random); default: CI subset = every named
                        crash point once + 8 random instants; --full or OFFSITE_CRASH_FULL=1 runs
                        every named point at several N in 3 scenarios + 20 random instants (~85 points)
"""

import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "servers"))
import common  # noqa: E402
from common import log  # noqa: E402

NAME = "crash"
FOLDER = "CrashSite"
CHUNK = "64KiB"

# ---------------------------------------------------------------------------------------------
# XXH3-128 through xxhsum (independent of offsite's own hashing); without it, sizes only.

XXHSUM = shutil.which("xxhsum") or shutil.which("xxh128sum")


def xxh3_files(paths):
    if not paths:
        return {}
    if not XXHSUM:
        return {p: None for p in paths}
    args = [XXHSUM, "-H2", *paths] if os.path.basename(XXHSUM) == "xxhsum" else [XXHSUM, *paths]
    out = subprocess.run(args, capture_output=True, check=True).stdout.decode()
    hashes = {}
    for line, path in zip(out.splitlines(), paths):
        hashes[path] = line.split()[0]
    return hashes


def xxh3_bytes(data):
    if not XXHSUM:
        return None
    args = [XXHSUM, "-H2", "-"] if os.path.basename(XXHSUM) == "xxhsum" else [XXHSUM, "-"]
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout.decode().split()[0]


# ---------------------------------------------------------------------------------------------
# The committed state, read the way docs/remote-format.md says a reader must.

def folder_of(path, depth=2):
    parts = path.split("/")[:-1]
    return "/".join(parts[:depth])


def repository_state(root):
    """{folder: {path: (size, xxh3)}} of a repository (regular files, .offsite excluded)."""
    snap = common.snapshot(root)
    paths = sorted(p for p, v in snap.items() if v[0] != "special")
    hashes = xxh3_files([os.path.join(root, p) for p in paths])
    state = {}
    for path in paths:
        state.setdefault(folder_of(path), {})[path] = (snap[path][0], hashes[os.path.join(root, path)])
    return state


def read_valid_record(path, repository_id):
    with open(path, "rb") as source:
        data = source.read()
    if len(data) < 48 or data[-48:-35] != b',"checksum":"' or not data.endswith(b'"}\n'):
        return None, "torn tail"
    if XXHSUM and xxh3_bytes(data[:-48]) != data[-35:-3].decode(errors="replace"):
        return None, "checksum mismatch"
    try:
        record = json.loads(data)
    except ValueError:
        return None, "not JSON"
    if record.get("format") != "offsite/1" or record.get("repository_id") != repository_id:
        return None, "foreign or unsupported"
    return record, ""


def committed_state(mirror, repository_id):
    """(generation, {folder: {path: (size, xxh3)}}, problems). Checks every committed file."""
    meta = os.path.join(mirror, ".offsite")
    commits = os.path.join(meta, "commits")
    best = None
    if os.path.isdir(commits):
        for name in os.listdir(commits):
            if not name.endswith(".json") or not name[:-5].isdigit():
                continue
            record, _why = read_valid_record(os.path.join(commits, name), repository_id)
            if record and record["generation"] == int(name[:-5]):
                if best is None or record["generation"] > best["generation"]:
                    best = record
    if best is None:
        return 0, {}, []
    problems = []
    pending = {entry["path"]: entry["staged"] for entry in best["pending"]}
    state = {}
    locations = {}
    for ref in best["folders"]:
        manifest_path = os.path.join(meta, ref["manifest"])
        try:
            with open(manifest_path, "rb") as source:
                data = source.read()
        except OSError as error:
            problems.append(f"folder manifest {ref['manifest']} unreadable: {error}")
            continue
        if len(data) != ref["manifest_size"] or (XXHSUM and xxh3_bytes(data) != ref["manifest_xxh3_128"]):
            problems.append(f"folder manifest {ref['manifest']} differs from its size/hash in the record")
            continue
        manifest = json.loads(data)
        files = state.setdefault(ref["path"], {})
        for entry in manifest["files"]:
            files[entry["path"]] = (entry["size"], entry["xxh3_128"])
            staged = os.path.join(meta, pending[entry["path"]]) if entry["path"] in pending else None
            if staged and os.path.exists(staged):
                locations[entry["path"]] = staged
            else:
                locations[entry["path"]] = os.path.join(mirror, entry["path"])
    present = {}
    for path, location in locations.items():
        if not os.path.isfile(location):
            problems.append(f"committed file {path} is neither staged nor in place ({location})")
        else:
            present[path] = location
    hashes = xxh3_files(list(present.values()))
    for folder_files in state.values():
        for path, (size, digest) in folder_files.items():
            if path not in present:
                continue
            location = present[path]
            if os.path.getsize(location) != size:
                problems.append(f"committed file {path}: size {os.path.getsize(location)}, record says {size}")
            elif XXHSUM and hashes[location] != digest:
                problems.append(f"committed file {path}: XXH3 {hashes[location]}, manifest says {digest}")
    return best["generation"], state, problems


def resumable_credit(mirror, repository, committed):
    """Bytes that a recovering sync need not send again (BRIEF §5.3): for every journal entry whose
    local file is unchanged and not yet committed, its staged bytes down to a 64 KiB boundary."""
    tx_root = os.path.join(mirror, ".offsite", "tx")
    committed_paths = {p: v for files in committed.values() for p, v in files.items()}
    credit, entries = 0, 0
    if not os.path.isdir(tx_root):
        return 0, 0
    for txid in os.listdir(tx_root):
        try:
            with open(os.path.join(tx_root, txid, "journal.json")) as source:
                journal = json.load(source)
        except (OSError, ValueError):
            continue
        for entry in journal["entries"]:
            local = os.path.join(repository, entry["path"])
            try:
                st = os.lstat(local)
            except OSError:
                continue
            if st.st_size != entry["size"] or st.st_mtime_ns != entry["mtime_ns"] or entry["path"] in committed_paths:
                continue
            # docs/remote-format.md §7: `staged` is left out when it holds its default
            default = entry["path"] if entry.get("direct") else f"tx/{journal['txid']}/files/{entry['path']}"
            staged = os.path.join(mirror, ".offsite", entry.get("staged", default))
            if os.path.isfile(staged):
                size = os.path.getsize(staged)
                credit += size // 65536 * 65536  # resumed at a chunk boundary, even when complete
                entries += 1
    return credit, entries


def planned_bytes(stderr):
    for line in stderr.splitlines():
        if "event=sync.planned" in line:
            for field in line.split():
                if field.startswith("bytes="):
                    return int(field[6:])
    return None


def state_matches(committed, acceptable, whole):
    """Each folder equals that folder in one of the acceptable states (whole: all folders from the
    same one). Returns a description of the mismatch, or ''."""
    strip = lambda s: {f: {p: v for p, v in files.items()} for f, files in s.items() if files}  # noqa: E731
    committed = strip(committed)
    acceptable = [strip(s) for s in acceptable]
    if not XXHSUM:  # sizes only
        committed = {f: {p: v[0] for p, v in files.items()} for f, files in committed.items()}
        acceptable = [{f: {p: v[0] for p, v in files.items()} for f, files in s.items()} for s in acceptable]
    if whole:
        return "" if committed in acceptable else f"the committed state equals none of the {len(acceptable)} acceptable states"
    folders = set(committed).union(*[set(s) for s in acceptable])
    bad = []
    for folder in sorted(folders):
        if not any(committed.get(folder, {}) == s.get(folder, {}) for s in acceptable):
            mine = committed.get(folder, {})
            bad.append(f"folder {folder!r}: committed {sorted(mine)} matches none of the acceptable versions")
    return "\n".join(bad)


# ---------------------------------------------------------------------------------------------
# The repositories

def make_day1(root, rng):
    folders = ["PC-0001/Daily-System", "PC-0001/Weekly-Data", "PC-0002/Daily-System", "PC-0003/Daily-System"]
    for index, folder in enumerate(folders):
        common.write_file(f"{root}/{folder}/full-2026-11-{10 + index}.img", rng.randint(1_200_000, 2_600_000), rng)
        for day in range(6):
            common.write_file(f"{root}/{folder}/incr-2026-11-{14 + day}.img", rng.randint(8_000, 300_000), rng)
    common.write_file(f"{root}/PC-0003/notes.txt", 3000, rng)  # folder "PC-0003"
    common.write_file(f"{root}/catalog.dat", 5000, rng)  # the root folder ""
    common.write_file(f"{root}/PC-0002/Daily-System/sub/chain.bin", 70_000, rng)
    common.write_file(f"{root}/PC-0002/Daily-System/empty.img", 0, rng)


def make_day2(root, rng):
    # Purged incrementals, new ones, synthetic fulls rewritten in place, a retired backup folder.
    for folder in ["PC-0001/Daily-System", "PC-0002/Daily-System"]:
        os.remove(f"{root}/{folder}/incr-2026-11-14.img")
        common.write_file(f"{root}/{folder}/incr-2026-11-20.img", rng.randint(50_000, 400_000), rng)
    common.write_file(f"{root}/PC-0001/Weekly-Data/incr-2026-11-21.img", 200_000, rng)
    common.rewrite_in_place(f"{root}/PC-0001/Daily-System/full-2026-11-10.img", rng)
    common.rewrite_in_place(f"{root}/PC-0002/Daily-System/full-2026-11-12.img", rng)
    shutil.rmtree(f"{root}/PC-0003/Daily-System")
    common.write_file(f"{root}/PC-0004/Daily-System/full-2026-11-21.img", 900_000, rng)


def mutate_one(root, rng):
    """A change between two windows: one uploaded file rewritten (so its staged upload is rolled back)."""
    candidates = sorted(p for p in common.snapshot(root) if p.endswith(".img") and "full" in p)
    path = os.path.join(root, candidates[0])
    common.rewrite_in_place(path, rng)
    return f"rewrote {candidates[0]}"


# ---------------------------------------------------------------------------------------------

class Matrix:
    def __init__(self, exe, checks, seed, sshd=None):
        self.sshd = sshd  # None: the local target
        self.exe = exe
        self.checks = checks
        self.rng = random.Random(seed)
        self.base = common.temp_dir("crash")
        self.work = os.path.join(self.base, "work")
        self.templates = os.path.join(self.base, "templates")
        os.makedirs(self.templates)
        self.repository = os.path.join(self.work, "repository")
        self.target = os.path.join(self.work, "target")
        self.state_dir = os.path.join(self.work, "state")
        self.mirror = os.path.join(self.target, FOLDER)
        self.points = 0
        self.kills = 0
        self.not_reached = []
        self.durations = {}

    def offsite(self, bandwidth="0", per_folder=True):
        config = os.path.join(self.base, f"config-{bandwidth.replace('/', '')}-{per_folder}.toml")
        if not os.path.exists(config):
            common.write_config(config, state_dir=self.state_dir, repositories=[{
                "name": NAME, "path": self.repository, "folder": FOLDER, "chunk_size": CHUNK,
                "bandwidth_limit": bandwidth, "per_folder_upload": per_folder, "concurrency": 3,
                "target": self.target_settings()}])
        return common.Offsite(self.exe, config)

    def target_settings(self):
        if not self.sshd:
            return {"type": "local", "path": self.target}
        return {"type": "sftp", "host": "127.0.0.1", "port": self.sshd.port, "path": self.target,
                "username": self.sshd.user, "private_key": self.sshd.client_key,
                "known_hosts": self.sshd.known_hosts}

    def reset(self, scenario):
        for directory in (self.repository, self.target, self.state_dir):
            if os.path.lexists(directory):
                shutil.rmtree(directory)
        t = self.templates
        common.copy_tree(f"{t}/{scenario['repo']}", self.repository)
        if scenario["base"]:
            common.copy_tree(f"{t}/target-day1", self.target)
            common.copy_tree(f"{t}/state-day1", self.state_dir)
        else:
            os.makedirs(self.target)

    def prepare(self):
        """Templates: day-1 repository, its committed mirror and state_dir, the day-2 repository."""
        log("preparing: day-1 repository, its first sync, the day-2 repository")
        os.makedirs(self.target)
        content_rng = random.Random(7)
        make_day1(self.repository, content_rng)
        self.day1_files = repository_state(self.repository)
        result = self.offsite().run("sync", NAME)
        if not self.checks.ok(result.rc == 0, "day-1 reference sync exits 0", result.describe()):
            return False
        common.mirror_checks(self.checks, self.repository, self.mirror, "day-1 reference sync")
        with open(os.path.join(self.repository, ".offsite", "repository-id")) as source:
            self.repository_id = source.read().strip()
        self.day1_generation, state, problems = committed_state(self.mirror, self.repository_id)
        self.checks.ok(not problems and not state_matches(state, [self.day1_files], True),
                       f"day-1 committed state (generation {self.day1_generation}) names exactly the repository",
                       "\n".join(problems) + state_matches(state, [self.day1_files], True))
        common.copy_tree(self.repository, f"{self.templates}/repo-day1")
        common.copy_tree(self.target, f"{self.templates}/target-day1")
        common.copy_tree(self.state_dir, f"{self.templates}/state-day1")
        make_day2(self.repository, content_rng)
        self.day2_files = repository_state(self.repository)
        common.copy_tree(self.repository, f"{self.templates}/repo-day2")
        return True

    def scenarios(self):
        return {
            "first": {"repo": "repo-day1", "base": False, "before": {}, "generation": 0,
                      "bandwidth": "4MiB/s", "per_folder": True},
            "next-day": {"repo": "repo-day2", "base": True, "before": self.day1_files,
                         "generation": self.day1_generation, "bandwidth": "2MiB/s", "per_folder": True},
            "next-day-one-commit": {"repo": "repo-day2", "base": True, "before": self.day1_files,
                                    "generation": self.day1_generation, "bandwidth": "2MiB/s", "per_folder": False},
        }

    def measure(self, scenario_name, scenario):
        """How long an uninterrupted throttled sync of the scenario lasts (the random instants'
        range)."""
        self.reset(scenario)
        result = self.offsite(scenario["bandwidth"], scenario["per_folder"]).run("sync", NAME)
        self.checks.ok(result.rc == 0, f"{scenario_name}: throttled reference sync exits 0 ({result.elapsed:.1f}s)",
                       result.describe())
        self.durations[scenario_name] = result.elapsed
        return result.elapsed

    def after_kill(self, label, scenario, acceptable):
        generation, state, problems = committed_state(self.mirror, self.repository_id)
        self.credit = resumable_credit(self.mirror, self.repository, state)
        mismatch = state_matches(state, acceptable, not scenario["per_folder"])
        self.checks.ok(generation >= scenario["generation"] and not problems and not mismatch,
                       f"{label}: committed state intact after the kill (generation {generation})",
                       f"generation {generation}, last successful {scenario['generation']}\n" + "\n".join(problems)
                       + "\n" + mismatch)

    def run_point(self, scenario_name, scenario, steps):
        """steps: ('fail', 'NAME:N') | ('kill', seconds) | ('mutate', None)."""
        label = f"[{scenario_name}] " + " -> ".join(s[1] if s[0] == "fail" else
                                                    (f"kill@{s[1]:.2f}s" if s[0] == "kill" else "change")
                                                    for s in steps)
        log(f"point {self.points + 1}: {label}")
        self.reset(scenario)
        acceptable = [scenario["before"], repository_state(self.repository)]
        fast = self.offsite("0", scenario["per_folder"])
        throttled = self.offsite(scenario["bandwidth"], scenario["per_folder"])
        killed_any = False
        self.credit = (0, 0)
        for kind, arg in steps:
            if kind == "mutate":
                what = mutate_one(self.repository, self.rng)
                log(f"  change: {what}")
                acceptable.append(repository_state(self.repository))
                continue
            if kind == "fail":
                result = fast.run("sync", NAME, env={"OFFSITE_FAILPOINT": arg})
                if result.rc == 0:
                    self.not_reached.append(label)
                    log(f"  note  crash point {arg} was not reached: the sync finished (exit 0)")
                    continue
                if not self.checks.ok(result.rc == -9, f"{label}: sync with OFFSITE_FAILPOINT={arg} dies by SIGKILL",
                                      result.describe()):
                    return
            else:
                process = throttled.start("sync", NAME)
                time.sleep(arg)
                if process.poll() is not None:
                    result = common.finish(process)
                    self.checks.ok(result.rc == 0, f"{label}: sync finished before the kill and exits 0",
                                   result.describe())
                    log(f"  note  the sync finished before the kill at {arg:.2f}s")
                    continue
                os.killpg(process.pid, 9)
                common.finish(process)
            killed_any = True
            self.kills += 1
            self.after_kill(label, scenario, acceptable)
        self.points += 1 if killed_any else 0

        result = fast.run("sync", NAME, "--json")
        if not self.checks.ok(result.rc == 0, f"{label}: the recovering sync exits 0", result.describe()):
            return
        credit, entries = self.credit
        planned, uploaded = planned_bytes(result.stderr), (result.json() or {}).get("bytes_uploaded")
        if entries and planned is not None and uploaded is not None:
            self.checks.ok(uploaded <= planned - credit,
                           f"{label}: the recovering sync resumes the {entries} staged upload(s) left by the kill "
                           f"(sent {uploaded} of {planned} bytes, {credit} were staged already)",
                           "BRIEF 5.3: uploads whose journal entry still matches the local file are kept and resumed\n"
                           + result.stderr)
        common.mirror_checks(self.checks, self.repository, self.mirror, f"{label}: after recovery")
        generation, state, problems = committed_state(self.mirror, self.repository_id)
        mismatch = state_matches(state, [acceptable[-1]], True)
        self.checks.ok(not problems and not mismatch and generation > scenario["generation"],
                       f"{label}: committed state (generation {generation}) names exactly the repository",
                       "\n".join(problems) + "\n" + mismatch)
        common.verify_deep(self.checks, fast, NAME, f" ({label})")
        records = sorted(os.listdir(os.path.join(self.mirror, ".offsite", "commits")))
        again = fast.run("sync", NAME, "--json")
        result_json = again.json() or {}
        self.checks.ok(again.rc == 0 and not result_json.get("files_uploaded")
                       and not result_json.get("files_deleted")
                       and sorted(os.listdir(os.path.join(self.mirror, ".offsite", "commits"))) == records,
                       f"{label}: one more sync changes nothing and writes no record", again.describe())


def named_points(full):
    """(scenario, steps). The CI subset passes every named crash point once."""
    ci = [
        ("first", [("fail", "upload:2")]),
        ("first", [("fail", "record:1")]),
        ("first", [("fail", "apply:1")]),
        ("first", [("fail", "upload:2"), ("fail", "recovered:1")]),
        ("first", [("fail", "upload:24")]),
        ("next-day", [("fail", "folder_manifest:1")]),
        ("next-day", [("fail", "commit:1")]),
        ("next-day", [("fail", "apply_removed:1")]),
        ("next-day", [("fail", "delete:1")]),
        ("next-day", [("fail", "cleanup:1")]),
        ("next-day", [("fail", "journal:1"), ("mutate", None), ("fail", "rollback:1")]),
        ("next-day-one-commit", [("fail", "upload:3"), ("mutate", None), ("fail", "rollback:1")]),
    ]
    if not full:
        return ci
    more = []
    for scenario in ("first", "next-day", "next-day-one-commit"):
        deletes = scenario != "first"
        names = ["journal:1", "upload:1", "upload:2", "upload:3", "upload:5", "folder_manifest:1",
                 "folder_manifest:2", "record:1", "record:2", "commit:1", "commit:2", "apply_removed:1",
                 "apply_removed:2", "apply:1", "apply:2", "apply:5", "cleanup:1", "cleanup:2"]
        if deletes:
            names += ["delete:1", "delete:2", "delete:4"]
        else:
            names += ["upload:24"]
        for name in names:
            more.append((scenario, [("fail", name)]))
        more.append((scenario, [("fail", "upload:2"), ("fail", "recovered:1")]))
        more.append((scenario, [("fail", "record:1"), ("fail", "apply:1")]))
        more.append((scenario, [("fail", "commit:1"), ("fail", "apply_removed:1")]))
        more.append((scenario, [("fail", "journal:1"), ("mutate", None), ("fail", "rollback:1")]))
        more.append((scenario, [("fail", "journal:1"), ("mutate", None), ("fail", "rollback:1"),
                                ("fail", "recovered:1")]))
        more.append((scenario, [("fail", "upload:3"), ("mutate", None), ("fail", "rollback:1")]))
        if deletes:
            more.append((scenario, [("fail", "commit:1"), ("fail", "delete:1")]))
    seen = set()
    points = []
    for point in ci + more:
        key = json.dumps(point)
        if key not in seen:
            seen.add(key)
            points.append(point)
    return points


# What the summary line calls the target when a wrapper drives this module (s3_crash_matrix.py).
LABEL = None


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    exe = sys.argv[1]
    full = "--full" in sys.argv[2:] or os.environ.get("OFFSITE_CRASH_FULL", "") not in ("", "0")
    seed = int(os.environ.get("OFFSITE_CRASH_SEED", "20261124"))
    kind = sys.argv[sys.argv.index("--target") + 1] if "--target" in sys.argv else "local"
    checks = common.Checks(f"crash_matrix ({LABEL or kind})")
    if not XXHSUM:
        log("note: xxhsum not found: committed files are checked by size only")
    sshd = None
    if kind == "sftp":
        from sshd import Sshd
        sshd = Sshd()
        common.on_exit(sshd.stop)
        sshd.start()
    elif kind != "local":
        log(f"unknown --target {kind}")
        return 2
    matrix = Matrix(exe, checks, seed, sshd)
    if not matrix.prepare():
        checks.finish()
    named = named_points(full)
    total = os.environ.get("OFFSITE_CRASH_POINTS")
    random_count = (max(0, int(total) - len(named)) if total else (max(20, 60 - len(named)) if full else 8))
    scenarios = matrix.scenarios()
    used = ["first", "next-day"] + (["next-day-one-commit"] if full else [])
    log(f"mode {'full' if full else 'CI subset'}, seed {seed}: {len(named)} named points + {random_count} random instants")
    for name in used:
        matrix.measure(name, scenarios[name])
    for scenario_name, steps in named:
        matrix.run_point(scenario_name, scenarios[scenario_name], steps)
    for index in range(random_count):
        scenario_name = used[index % len(used)]
        # Spread over the whole run, from the first upload to the last clean-up.
        delay = matrix.rng.uniform(0.03, 1.0) * matrix.durations[scenario_name]
        matrix.run_point(scenario_name, scenarios[scenario_name], [("kill", delay)])
    log(f"crash points run: {matrix.points} ({matrix.kills} kills; {len(named)} named, {random_count} random; "
        f"seed {seed})")
    if matrix.not_reached:
        log("crash points not reached (the sync finished first): " + "; ".join(matrix.not_reached))
    checks.ok(matrix.points >= (50 if full else len(named)),
              f"at least {50 if full else len(named)} points killed a sync ({matrix.points})")
    checks.finish()


if __name__ == "__main__":
    main()
