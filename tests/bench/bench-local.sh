#!/usr/bin/env bash
# Local-target speed and memory against references in the same run (BRIEF §8).
#
#   bench-local.sh [BENCH_DIR] [OFFSITE_BINARY]
#       BENCH_DIR       where make-bench-repos.sh makes (or finds) main, files-20k, files-200k;
#                       default /tmp/offsite-bench. Scratch copies go to BENCH_DIR/work (removed).
#       OFFSITE_BINARY  default build/src/offsite (a release build: -Dbuildtype=release)
#   Environment: RUNS (repeats per measurement, default 3; the median counts), CONCURRENCY
#   (default 4), CHUNK_MIB (default 16), NEXT_DAY_RUNS (next-day pairs, default RUNS but at
#   least 9), KEEP=1 keeps BENCH_DIR/work.
#
# Measures, with the page cache dropped before each "cold" run (sync; echo 3 >
# /proc/sys/vm/drop_caches, needs root; without it every run is warm and the table says so):
#   1. first sync of main (2 GiB) to an empty local target: offsite vs `cp -a` + `sync`, and vs
#      `rclone sync --transfers 4`; cold and warm (source pre-read)
#   2. no-change re-sync of main and of files-20k: offsite vs `rclone sync` (size + modtime);
#      `rclone sync --checksum` (reads and hashes both sides) is shown for information
#   3. next day (make-bench-repos.sh --next-day on a copy of main): offsite vs `cp -a` of the new
#      and rewritten files over yesterday's copy (the goal's reference), and into an empty
#      directory (for information), cold, in rounds whose order rotates (the goal is judged on
#      the median of the paired ratios); and that offsite uploaded exactly those files (--json)
#   4. peak RSS (/usr/bin/time -v) of the first sync of main, and of the first and no-change sync
#      of files-200k against a one-file repository's
# Every timed command ends with `sync` (offsite fsyncs each file itself; the trailing sync then
# costs nothing but keeps the comparison equal). Prints each run, then a Markdown table; the
# table is also written to BENCH_DIR/bench-local-table.md. Exits 1 if a goal is not met.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_dir=$(realpath -m "${1:-/tmp/offsite-bench}")
offsite=$(realpath -m "${2:-build/src/offsite}")
runs=${RUNS:-3}
concurrency=${CONCURRENCY:-4}
chunk_mib=${CHUNK_MIB:-16}

die() {
  echo "bench-local: $*" >&2
  exit 2
}
[[ -x $offsite ]] || die "$offsite not found: meson setup build -Dbuildtype=release && meson compile -C build"
for tool in rclone jq openssl; do command -v $tool >/dev/null || die "$tool not found (Debian: apt-get install $tool)"; done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (Debian: apt-get install time)"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"

mkdir -p "$bench_dir"
exec 9>"$bench_dir/.bench-local.lock"
flock -n 9 || die "another bench-local.sh is running on $bench_dir"
bash "$here/make-bench-repos.sh" "$bench_dir"
work=$bench_dir/work
rm -rf "$work"
mkdir -p "$work"
[[ ${KEEP:-0} == 1 ]] || trap 'rm -rf "$work"' EXIT

# --- helpers -----------------------------------------------------------------------------------

can_drop=1
sync
if ! echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
  can_drop=0
  echo "WARNING: cannot drop the page cache (not root?): every run below is warm-cache" >&2
fi
drop_caches() {
  sync
  if ((can_drop)); then echo 3 >/proc/sys/vm/drop_caches; fi
}
# shellcheck source=tests/bench/bench-lib.sh
source "$here/bench-lib.sh"

# write_config NAME REPOSITORY: a config with its own state dir and target under $work/NAME.
write_config() {
  local name=$1 repository=$2 dir=$work/$1
  mkdir -p "$dir/target"
  cat >"$dir/config.toml" <<EOF
[service]
state_dir = "$dir/state"
log_level = "warning"

[[repository]]
name = "$name"
path = "$repository"
folder = "Bench"
folder_depth = 2
concurrency = $concurrency
chunk_size = "${chunk_mib}MiB"

  [repository.target]
  type = "local"
  path = "$dir/target"
EOF
}
# run_offsite NAME: one sync (then `sync`), timed; sets secs, rss_kib; the result is in
# $work/NAME/result.json. Fails the bench if the sync does not succeed.
run_offsite() {
  local dir=$work/$1 start
  start=$(now_ns)
  if ! /usr/bin/time -v -o "$dir/time.txt" "$offsite" --config "$dir/config.toml" sync "$1" --json \
    >"$dir/result.json" 2>"$dir/stderr.txt"; then
    cat "$dir/stderr.txt" "$dir/result.json" >&2
    die "offsite sync $1 failed"
  fi
  sync
  secs=$(seconds_since "$start")
  rss_kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$dir/time.txt")
  [[ $(jq -r .outcome "$dir/result.json") == success ]] || die "offsite sync $1: $(jq -c '{outcome,error}' "$dir/result.json")"
}
uploaded() { jq -r .bytes_uploaded "$work/$1/result.json"; }

# run_ref COMMAND...: timed, with the trailing sync; sets secs.
run_ref() {
  local start
  start=$(now_ns)
  "$@"
  sync
  secs=$(seconds_since "$start")
}
# offsite keeps its locks and the repository ID in the repository's .offsite/, which it never copies.
# shellcheck disable=SC2317 # called through run_ref
rclone_sync() { rclone --config /dev/null -q sync --transfers 4 --exclude '/.offsite/**' "$@"; }

cache_label=cold
((can_drop)) || cache_label="cold (NOT dropped)"

# --- 1. first sync of main, cold then warm -----------------------------------------------------

main=$bench_dir/main
main_bytes=$(tree_bytes "$main")
write_config first "$main"
# prepare CACHE DESTINATION...: removes the destinations, then drops the page cache (cold) or reads
# the source into it (warm). The removal comes last before a warm run, so that every tool starts with
# the pages of its previous copy just freed: on a VM that hands free memory back to its host (virtio
# balloon free page reporting), a page cache that must grow costs a host fault per page; recently
# freed pages are reused without one.
prepare() {
  local cache=$1
  shift
  if [[ $cache == cold ]]; then
    rm -rf "$@"
    drop_caches
  else
    preread "$main"
    rm -rf "$@"
    sync
  fi
}

for cache in cold warm; do
  for run in $(seq 1 "$runs"); do
    note_load "first sync of main, $cache, run $run/$runs"
    prepare "$cache" "$work/first/state" "$work/first/target"
    mkdir -p "$work/first/target"
    run_offsite first
    [[ $(uploaded first) == "$main_bytes" ]] || die "first sync uploaded $(uploaded first) bytes, not $main_bytes"
    record "first.$cache.offsite" "$secs"
    record first.rss "$rss_kib"
    echo "   offsite          $secs s   peak RSS $(mib_of_kib "$rss_kib") MiB"

    prepare "$cache" "$work/cp"
    run_ref cp -a "$main" "$work/cp"
    record "first.$cache.cp" "$secs"
    echo "   cp -a + sync     $secs s"

    prepare "$cache" "$work/rclone"
    run_ref rclone_sync "$main" "$work/rclone"
    record "first.$cache.rclone" "$secs"
    echo "   rclone sync      $secs s"
  done
done
rm -rf "$work/cp" # the last offsite and rclone copies stay for the no-change runs

# --- 2. no-change re-sync of main and files-20k ------------------------------------------------

# no_change KEY NAME SOURCE RCLONE_MIRROR: offsite's NAME and the rclone mirror are up to date.
no_change() {
  local key=$1 name=$2 source=$3 mirror=$4 cache run what
  what=$(basename "$source")
  for cache in cold warm; do
    if [[ $cache == warm ]]; then # untimed: fills the cache for both
      run_offsite "$name"
      run_ref rclone_sync "$source" "$mirror"
    fi
    for run in $(seq 1 "$runs"); do
      note_load "no-change re-sync of $what, $cache, run $run/$runs"
      [[ $cache == cold ]] && drop_caches
      run_offsite "$name"
      [[ $(uploaded "$name") == 0 && $(jq -r .files_uploaded_count "$work/$name/result.json") == 0 ]] ||
        die "no-change sync of $what uploaded something: $(jq -c . "$work/$name/result.json")"
      record "$key.$cache.offsite" "$secs"
      record "$key.rss" "$rss_kib"
      echo "   offsite          $secs s   peak RSS $(mib_of_kib "$rss_kib") MiB"
      [[ $cache == cold ]] && drop_caches
      run_ref rclone_sync "$source" "$mirror"
      record "$key.$cache.rclone" "$secs"
      echo "   rclone sync      $secs s"
      [[ $cache == cold ]] && drop_caches
      run_ref rclone_sync --checksum "$source" "$mirror"
      record "$key.$cache.rclone-checksum" "$secs"
      echo "   rclone --checksum $secs s"
    done
  done
}

no_change nochange-main first "$main" "$work/rclone"
rm -rf "$work/rclone" "$work/first"

files20k=$bench_dir/files-20k
write_config f20k "$files20k"
note_load "first sync of files-20k (untimed set-up, shown for information)"
drop_caches
run_offsite f20k
record first20k.offsite "$secs"
echo "   offsite          $secs s"
drop_caches
run_ref rclone_sync "$files20k" "$work/rclone"
record first20k.rclone "$secs"
echo "   rclone sync      $secs s"
no_change nochange-20k f20k "$files20k" "$work/rclone"
rm -rf "$work/rclone" "$work/f20k"

# --- 3. next day -------------------------------------------------------------------------------

note_load "next day: copying main and syncing it once (untimed set-up)"
mkdir -p "$work/day"
cp -a "$main" "$work/day/main"
rm -rf "$work/day/main/.offsite" # a copy is a new repository
cp -a "$main.day" "$work/day/main.day"
write_config nextday "$work/day/main"
run_offsite nextday
# The reference: `cp -a` of the day's files over yesterday's copy, kept beside offsite's mirror
# and updated the same way every day. Uploading a rewritten file replaces yesterday's version, and
# freeing its blocks is part of that upload's cost for any tool: cp truncates the old file,
# offsite removes it after the commit. On this VM (ext4 mounted with `discard`) freeing the 300
# MiB full takes about 0.1 s. `cp -a` into an empty directory pays none of it; it is shown for
# information, and was the reference until session 10.
cp -a "$work/day/main" "$work/day-copy"
rm -rf "$work/day-copy/.offsite"
sync
# Each day is cheap (about 3 s), and this VM's disk drifts by tens of percent over minutes (a
# cold `cp -a` of the same files took 0.57-0.88 s in one session), so the next day runs more
# rounds than RUNS, rotates which of the three runs first, and judges the goal on the median of
# the paired ratios; the ratio of the two medians is printed too.
nd_runs=${NEXT_DAY_RUNS:-$((runs > 9 ? runs : 9))}
[[ $nd_runs =~ ^[1-9][0-9]*$ ]] || die "NEXT_DAY_RUNS must be a positive number"
# cp -a copies the change by construction (the list $expected), so any of the three may run first.
# next_day_cp DESTINATION KEY LABEL WHERE: times it, records nextday.KEY and sets KEY_secs.
next_day_cp() {
  drop_caches
  # shellcheck disable=SC2016 # the inner script's own arguments
  run_ref bash -c 'cd "$1" && printf "%s\n" "$0" | xargs -d "\n" cp -a --parents -t "$2"' \
    "$expected" "$work/day/main" "$1"
  record "nextday.$2" "$secs"
  printf -v "$2_secs" %s "$secs"
  echo "   cp -a $3 $secs s   (the day's files $4)"
}
next_day_offsite() {
  drop_caches
  run_offsite nextday
  record nextday.offsite "$secs"
  offsite_secs=$secs
  echo "   offsite          $secs s   uploaded $(uploaded nextday) bytes in $(jq -r .files_uploaded_count "$work/nextday/result.json") files, deleted $(jq -r .files_deleted_count "$work/nextday/result.json")"
  got=$(jq -r '.files_uploaded[]' "$work/nextday/result.json" | sort)
  if [[ $got == "$expected" && $(uploaded nextday) == "$expected_bytes" ]]; then record nextday.exact 1; else
    record nextday.exact 0
    echo "   NOT ONLY THE CHANGE: expected $expected_bytes bytes in $(echo "$expected" | wc -l) files" >&2
  fi
}
for run in $(seq 1 "$nd_runs"); do
  bash "$here/make-bench-repos.sh" --next-day "$work/day" | sed 's/^/   /'
  day=$(cat "$work/day/main.day")
  # What the change is, by construction: the day's new incrementals and PC-0002's full.
  expected=$(cd "$work/day/main" && { find . -name "*_D$(printf %03d "$day")_I.img" -printf '%P\n'; echo PC-0002/Daily-System/Daily-System_D000_F.img; } | sort)
  expected_bytes=$(cd "$work/day/main" && echo "$expected" | xargs stat -c %s | awk '{ s += $1 } END { printf "%.0f\n", s }')
  record nextday.bytes "$expected_bytes"
  note_load "next day $day, $cache_label, run $run/$nd_runs"
  for i in 0 1 2; do
    case $(((i + run - 1) % 3)) in
      0) next_day_offsite ;;
      1) next_day_cp "$work/day-copy" cp_over "(over) " "over yesterday's copy" ;;
      2)
        rm -rf "$work/day-cp"
        mkdir -p "$work/day-cp"
        next_day_cp "$work/day-cp" cp "(empty)" "into an empty directory"
        ;;
    esac
  done
  record nextday.ratio "$(awk -v a="$offsite_secs" -v b="$cp_over_secs" 'BEGIN { printf "%.4f", a / b }')"
  record nextday.ratio_empty "$(awk -v a="$offsite_secs" -v b="$cp_secs" 'BEGIN { printf "%.4f", a / b }')"
done
rm -rf "$work/day" "$work/day-cp" "$work/day-copy" "$work/nextday"

# --- 4. memory: a one-file repository, then files-200k -----------------------------------------

mkdir -p "$work/tiny/PC-0001/Def-01"
head -c 1000 /dev/zero >"$work/tiny/PC-0001/Def-01/inc-0000.img"
write_config tiny "$work/tiny"
note_load "one-file repository (the memory baseline)"
run_offsite tiny
tiny_kib=$rss_kib
echo "   offsite          $secs s   peak RSS $(mib_of_kib "$rss_kib") MiB"

files200k=$bench_dir/files-200k
count200k=$(find "$files200k" -type f | wc -l)
write_config f200k "$files200k"
note_load "first sync of files-200k, $cache_label"
drop_caches
run_offsite f200k
record first200k.offsite "$secs"
record first200k.rss "$rss_kib"
echo "   offsite          $secs s   peak RSS $(mib_of_kib "$rss_kib") MiB"
rm -rf "$work/cp"
drop_caches
run_ref cp -a "$files200k" "$work/cp"
record first200k.cp "$secs"
echo "   cp -a + sync     $secs s"
rm -rf "$work/cp"
drop_caches
run_ref rclone_sync "$files200k" "$work/rclone"
record first200k.rclone "$secs"
echo "   rclone sync      $secs s"
for run in $(seq 1 "$runs"); do
  note_load "no-change re-sync of files-200k, $cache_label, run $run/$runs"
  drop_caches
  run_offsite f200k
  record nochange200k.offsite "$secs"
  record nochange200k.rss "$rss_kib"
  echo "   offsite          $secs s   peak RSS $(mib_of_kib "$rss_kib") MiB"
  drop_caches
  run_ref rclone_sync "$files200k" "$work/rclone"
  record nochange200k.rclone "$secs"
  echo "   rclone sync      $secs s"
done
rm -rf "$work/rclone" "$work/f200k" "$work/cp"

# --- the table ---------------------------------------------------------------------------------

start_table "$bench_dir/bench-local-table.md"
for cache in cold warm; do
  label=$cache
  [[ $cache == cold ]] && label=$cache_label
  row "first sync, main 2 GiB, $label" "cp -a + sync" "$(median "first.$cache.offsite")" "$(median "first.$cache.cp")" s 1.5
  row "first sync, main 2 GiB, $label" "rclone sync" "$(median "first.$cache.offsite")" "$(median "first.$cache.rclone")" s 0.5
done
nd_mib=$(awk -v b="$(median nextday.bytes)" 'BEGIN { printf "%.0f", b / 1048576 }')
row "next day ($nd_mib MiB new and rewritten), $cache_label: ratio of the medians" "cp -a of those files over yesterday's copy + sync" "$(median nextday.offsite)" "$(median nextday.cp_over)" s ""
row "next day ($nd_mib MiB new and rewritten), $cache_label: median of $nd_runs paired ratios" "cp -a of those files over yesterday's copy + sync" "$(median nextday.offsite)" "$(median nextday.cp_over)" s 1.2 "$(median nextday.ratio)"
row "next day ($nd_mib MiB new and rewritten), $cache_label: median of $nd_runs paired ratios" "cp -a of those files into an empty directory + sync" "$(median nextday.offsite)" "$(median nextday.cp)" s "" "$(median nextday.ratio_empty)"
exact=$(min_of nextday.exact)
printf '| next day: uploads exactly the new and rewritten files | by construction | %s | | | all runs | %s |\n' \
  "$([[ $exact == 1 ]] && echo yes || echo no)" "$([[ $exact == 1 ]] && echo met || echo '**NOT MET**')" >>"$table"
[[ $exact == 1 ]] || failed=1
for key in nochange-main nochange-20k; do
  what=$([[ $key == nochange-main ]] && echo "main 2 GiB" || echo "files-20k")
  for cache in cold warm; do
    label=$cache
    [[ $cache == cold ]] && label=$cache_label
    row "no-change re-sync, $what, $label" "rclone sync" "$(median "$key.$cache.offsite")" "$(median "$key.$cache.rclone")" s 0.5
    row "no-change re-sync, $what, $label" "rclone sync --checksum" "$(median "$key.$cache.offsite")" "$(median "$key.$cache.rclone-checksum")" s ""
  done
done
row "first sync, files-20k, $cache_label (1 run)" "rclone sync" "$(median first20k.offsite)" "$(median first20k.rclone)" s ""
row "first sync, files-200k, $cache_label (1 run)" "cp -a + sync" "$(median first200k.offsite)" "$(median first200k.cp)" s ""
row "first sync, files-200k, $cache_label (1 run)" "rclone sync" "$(median first200k.offsite)" "$(median first200k.rclone)" s ""
row "no-change re-sync, files-200k, $cache_label" "rclone sync" "$(median nochange200k.offsite)" "$(median nochange200k.rclone)" s ""
limit_mib=$((64 + 2 * concurrency * chunk_mib))
row "peak RSS, first sync of main (max of runs)" "64 MiB + 2 x $concurrency x $chunk_mib MiB" \
  "$(mib_of_kib "$(maximum first.rss)")" "$limit_mib" MiB 1.0
for key in first200k nochange200k; do
  what=$([[ $key == first200k ]] && echo "first sync" || echo "no-change re-sync")
  per_file=$(awk -v a="$(maximum "$key.rss")" -v b="$tiny_kib" -v n="$count200k" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
  row "peak RSS, files-200k $what: $(mib_of_kib "$(maximum "$key.rss")") MiB less a one-file repository's $(mib_of_kib "$tiny_kib") MiB, per file" \
    "300 B per file" "$per_file" 300 B 1.0
done

echo
echo "$offsite (source $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)), $(nproc) cores; RUNS=$runs, median of each;" \
  "concurrency $concurrency, chunk ${chunk_mib} MiB; highest 1-minute load average seen before a measurement: $max_load"
cat "$table"
exit "$failed"
