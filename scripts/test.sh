#!/usr/bin/env bash
# Builds and runs every test: unit, fuzz-corpus replay, targets against their real servers,
# integration tests with the real binary; then the unit tests and corpus replay again under
# ASan+UBSan. Ends with one line "N passed, N failed".
# Usage: scripts/test.sh [--no-sanitize]   (extra meson test options go in $MESON_TEST_ARGS)
set -uo pipefail
cd "$(dirname "$0")/.."

sanitize=1
[ "${1:-}" = "--no-sanitize" ] && sanitize=0

passed=0
failed=0
status=0

# Adds the results of one `meson test` run (its testlog.json) to the totals.
count_results() {
  local log=$1/meson-logs/testlog.json
  [ -f "$log" ] || { echo "no test log in $1" >&2; failed=$((failed + 1)); return; }
  read -r p f < <(python3 - "$log" <<'PY'
import json, sys
p = f = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r != "SKIP": f += 1
print(p, f)
PY
)
  passed=$((passed + p))
  failed=$((failed + f))
}

run_suite_set() {
  local build_dir=$1
  shift
  # shellcheck disable=SC2086
  meson test -C "$build_dir" --print-errorlogs --num-processes "$(nproc)" "$@" ${MESON_TEST_ARGS:-} || status=1
  count_results "$build_dir"
}

if bash scripts/build.sh build; then
  run_suite_set build
else
  echo "build failed" >&2
  failed=$((failed + 1)); status=1
fi

# The executables the unit and fuzz suites run, as paths inside build directory $1.
unit_and_fuzz_executables() {
  meson introspect --tests "$1" | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1]) + "/"
tests = json.load(sys.stdin)
wanted = {t["cmd"][0] for t in tests if {"offsite:unit", "offsite:fuzz"} & set(t["suite"])}
print("\n".join(sorted(os.path.realpath(c).removeprefix(build) for c in wanted)))' "$1"
}

if [ "$sanitize" = 1 ]; then
  # Unit tests and every saved fuzz input under AddressSanitizer and UndefinedBehaviorSanitizer.
  # Only what those suites run is built, and as a unity build (a few sources per compiler run,
  # so the Asio and Boost headers are parsed once per few files, not once per file): about half
  # the time of building the whole tree again. The tree above was built file by file, so a
  # source that does not compile on its own is still caught there.
  asan=build-asan
  built=1
  if [ ! -f "$asan/build.ninja" ]; then
    meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug \
      --unity on -Dcpp_args=-Wno-subobject-linkage || built=0
  fi
  if [ "$built" = 1 ]; then
    mapfile -t executables < <(unit_and_fuzz_executables "$asan")
    [ "${#executables[@]}" -gt 0 ] && ninja -C "$asan" -j "$(nproc)" "${executables[@]}" || built=0
  fi
  if [ "$built" = 1 ]; then
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
      run_suite_set "$asan" --no-rebuild --suite unit --suite fuzz
  else
    echo "sanitizer build failed" >&2
    failed=$((failed + 1)); status=1
  fi
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
