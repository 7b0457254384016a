#!/usr/bin/env bash
# Long fuzzing runs, not part of CI: builds the libFuzzer harnesses with clang 14 under
# ASan+UBSan and runs each for SECONDS (default 600) from its saved corpus. New inputs found go to
# build-fuzz/corpus-new/<name>/; crashes are written to build-fuzz/ and fail the run.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++-14 meson setup build-fuzz -Dfuzz=true -Dtests=false -Dbuildtype=debugoptimized -Db_lundef=false
fi
meson compile -C build-fuzz
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.cpp; do n=$(basename "$f" .cpp); harnesses+=("${n#fuzz_}"); done
fi
for name in "${harnesses[@]}"; do
  mkdir -p "build-fuzz/corpus-new/$name"
  echo "== fuzz_$name for ${seconds}s"
  (cd build-fuzz && ./fuzz/"fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 \
     "corpus-new/$name" "../fuzz/corpus/$name") 2>&1 | tail -n 12
done
