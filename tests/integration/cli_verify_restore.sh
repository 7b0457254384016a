#!/usr/bin/env bash
# verify, restore, reinitialize and test-connection as users drive them: the real binary on a
# temporary configuration with a local target.
#
#   tests/integration/cli_verify_restore.sh build/src/offsite
#
# Prints each check; stops at the first failure, saying why, with a non-zero status.
set -uo pipefail

offsite=$(realpath "${1:?usage: $0 PATH/TO/offsite}")
work=$(mktemp -d "${TMPDIR:-/tmp}/offsite-cli-verify-restore.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

repo=$work/repository
disk=$work/disk
mirror=$disk/Site
config=$work/offsite.toml
out=$work/out.txt
err=$work/err.txt
checks=0

fail() {
  echo "FAIL: $*"
  echo "--- stdout of the last command:"; cat "$out" 2>/dev/null
  echo "--- stderr of the last command:"; cat "$err" 2>/dev/null
  exit 1
}
pass() { checks=$((checks + 1)); echo "ok $checks - $*"; }

# Runs offsite with the test config; the status is in $status, output in $out and $err.
run() {
  "$offsite" --config "$config" "$@" >"$out" 2>"$err"
  status=$?
}
expect_status() { # EXPECTED DESCRIPTION
  [[ $status -eq $1 ]] || fail "$2: exit status $status, expected $1"
  pass "$2"
}

mkdir -p "$repo/PC-0001/Daily-System" "$repo/PC-0002/Weekly" "$disk"
head -c 300000 /dev/urandom >"$repo/PC-0001/Daily-System/full-0001.img"
head -c 5000 /dev/urandom >"$repo/PC-0001/Daily-System/inc-0002.img"
head -c 7000 /dev/urandom >"$repo/PC-0002/Weekly/full.img"
printf 'caf\xe9' >"$repo/PC-0002/Weekly/$(printf 'caf\xe9').img"
echo "root file" >"$repo/top.img"

write_config() { # REPOSITORY_PATH
  cat >"$config" <<EOF
[service]
state_dir = "$work/state"
log_level = "warning"

[[repository]]
name = "Main"
path = "$1"
folder = "Site"
chunk_size = "1MiB"

  [repository.target]
  type = "local"
  path = "$disk"
EOF
}
write_config "$repo"

echo "# sync and verify"
run sync Main
expect_status 0 "first sync succeeds"
run verify Main
expect_status 0 "verify of a fresh sync exits 0"
run verify Main --json
expect_status 0 "verify --json exits 0"
python3 -m json.tool <"$out" >/dev/null || fail "verify --json does not print valid JSON"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ok"] and r["files_checked"] == 5, r' "$out" ||
  fail "verify --json: expected ok and 5 files checked"
pass "verify --json parses and counts 5 files"
run verify Main --deep
expect_status 0 "verify --deep of a fresh sync exits 0"

echo "# damage the mirror"
echo "stray" >"$mirror/PC-0001/stray.txt"
run verify Main
expect_status 0 "a file no manifest names is only a warning"
grep -q "stray.txt" "$out" || fail "verify does not list the unnamed file PC-0001/stray.txt"
pass "verify lists the unnamed file"
rm "$mirror/PC-0001/stray.txt"
cp "$mirror/PC-0002/Weekly/full.img" "$work/full.img.saved"
printf '\x00' | dd of="$mirror/PC-0002/Weekly/full.img" bs=1 seek=100 conv=notrunc status=none
cmp -s "$mirror/PC-0002/Weekly/full.img" "$work/full.img.saved" && printf '\x01' |
  dd of="$mirror/PC-0002/Weekly/full.img" bs=1 seek=100 conv=notrunc status=none
run verify Main
expect_status 0 "a same-size corruption passes the size check"
run verify Main --deep
expect_status 1 "verify --deep finds the corrupted file"
grep -q "PC-0002/Weekly/full.img" "$out" || fail "verify --deep does not name PC-0002/Weekly/full.img"
pass "verify --deep names the corrupted file"
run restore Main --to "$work/restore-bad"
expect_status 1 "restore reports the corrupted file"
[[ ! -e "$work/restore-bad/PC-0002/Weekly/full.img" ]] || fail "restore wrote a file whose hash differs"
pass "restore does not hand over the corrupted file"
cp "$work/full.img.saved" "$mirror/PC-0002/Weekly/full.img"
mv "$mirror/top.img" "$work/top.img.saved"
run verify Main
expect_status 1 "verify finds a missing file"
grep -q "top.img" "$out" || fail "verify does not name the missing top.img"
pass "verify names the missing file"
mv "$work/top.img.saved" "$mirror/top.img"

echo "# restore"
run restore Main --to "$work/restored"
expect_status 0 "restore into a new directory"
diff -r --exclude=.offsite "$repo" "$work/restored" >"$out" 2>&1 || fail "the restored tree differs from the repository"
pass "the restored tree equals the repository (diff -r)"
run restore Main --to "$work/restored"
expect_status 1 "restore refuses a non-empty directory"
run restore Main --to "$work/one-folder" --folder PC-0002/Weekly --json
expect_status 0 "restore --folder --json"
python3 -m json.tool <"$out" >/dev/null || fail "restore --json does not print valid JSON"
[[ -f "$work/one-folder/PC-0002/Weekly/full.img" && ! -e "$work/one-folder/PC-0001" ]] ||
  fail "restore --folder PC-0002/Weekly restored something else"
pass "restore --folder restores that folder only"
run restore Main --to "$work/no-folder" --folder Nope
expect_status 2 "restore of a folder that is not committed exits 2"
grep -q "PC-0001/Daily-System" "$err" || fail "the error does not name the committed folders"
pass "the error names the committed folders"
mv "$repo" "$work/repository.gone"
run restore Main --to "$work/without-repository"
expect_status 0 "restore works with the local repository gone"
diff -r --exclude=.offsite "$work/repository.gone" "$work/without-repository" >"$out" 2>&1 ||
  fail "the tree restored without the repository differs"
pass "the tree restored without the repository is complete"
mv "$work/repository.gone" "$repo"

echo "# test-connection"
run test-connection Main
expect_status 0 "test-connection passes"
[[ -z "$(find "$mirror/.offsite" -name 'probe-*')" ]] || fail "test-connection left a probe behind"
pass "test-connection leaves no probe behind"
run test-connection Main --json --accept-host-key
expect_status 0 "test-connection --json --accept-host-key"
python3 -m json.tool <"$out" >/dev/null || fail "test-connection --json does not print valid JSON"
pass "test-connection --json parses"

echo "# another repository's folder"
other=$work/other-repository
mkdir -p "$other/PC-0003"
echo "other data" >"$other/PC-0003/image.img"
write_config "$other"
run verify Main
expect_status 3 "verify of another repository's folder exits 3"
run test-connection Main
expect_status 3 "test-connection on another repository's folder exits 3"
run sync Main
expect_status 3 "sync on another repository's folder exits 3"
run reinitialize Main
expect_status 0 "reinitialize takes the folder over"
grep -q "now" "$out" || fail "reinitialize does not say what it did"
pass "reinitialize says what it did"
run sync Main
expect_status 0 "the sync after reinitialize succeeds"
run verify Main --deep
expect_status 0 "verify --deep after the takeover"
[[ ! -e "$mirror/PC-0001" ]] || fail "the previous owner's files remain after the takeover's first commit"
pass "the previous owner's files are gone after the takeover"

echo "all $checks checks passed"
