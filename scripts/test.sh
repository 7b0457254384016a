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

if [ "$sanitize" = 1 ]; then
  # Unit tests and every saved fuzz input under AddressSanitizer and UndefinedBehaviorSanitizer.
  if bash scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug; then
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
      run_suite_set build-asan --suite unit --suite fuzz
  else
    echo "sanitizer build failed" >&2
    failed=$((failed + 1)); status=1
  fi
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
