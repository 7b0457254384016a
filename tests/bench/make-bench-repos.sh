#!/usr/bin/env bash
# Makes the bench repositories of BRIEF §8, the same bytes and times on every run.
#
#   make-bench-repos.sh DIR             DIR/main       40 folders PC-00NN/Daily-System, 2 GiB:
#                                                      fulls of 400/300/200/150/100 MiB in the first
#                                                      five, 12 MiB fulls elsewhere, 6 incrementals
#                                                      of 1-3 MiB in each folder
#                                       DIR/files-20k  20,000 small files (1-8 KiB), 40 folders
#                                       DIR/files-200k 200,000 tiny files (100-1000 B), 400 folders
#                                       (a repository that already exists is left as it is)
#   make-bench-repos.sh --next-day DIR  applies the next day's change to DIR/main in place: a new
#                                       incremental in every folder, the oldest incremental of
#                                       every folder purged, PC-0002's full rewritten in place at
#                                       the same size (a synthetic full); repeatable (day 2, 3, ...)
#
# Bytes come from AES-128-CTR keyed by a name (openssl), so they are incompressible, fast to make,
# and the same for the same name whatever order files are made in. Many small files come from one
# stream cut by split(1): a process per file would take minutes for 200,000 files.
set -euo pipefail

readonly k_mib=$((1024 * 1024))
readonly k_base_time=1730498400 # 2024-11-01 22:00:00 UTC: day 0 of the backups

usage() {
  echo "usage: $0 DIR | $0 --next-day DIR" >&2
  exit 2
}

# Endless incompressible bytes; the same for the same seed.
stream() {
  local key
  key=$(printf '%s' "$1" | sha256sum | cut -c1-32)
  openssl enc -aes-128-ctr -K "$key" -iv 00000000000000000000000000000000 -nosalt -in /dev/zero 2>/dev/null || true
}

# make_file PATH SIZE SEED DAY: SIZE bytes of SEED's stream, modified at DAY's backup time.
make_file() {
  stream "$3" | head -c "$2" >"$1"
  touch -d "@$((k_base_time + $4 * 86400))" "$1"
}

folder_name() { printf 'PC-%04d/Daily-System' "$1"; }
incremental_size() { echo $(((1024 + ($1 * 7919 + $2 * 104729) % 2048) * 1024)); } # FOLDER DAY: 1-3 MiB

make_main() {
  local root=$1 fulls=(400 300 200 150 100) total=0 f d dir size
  for f in $(seq 1 40); do
    dir="$root/$(folder_name "$f")"
    mkdir -p "$dir"
    size=$(((f <= 5 ? fulls[f - 1] : 12) * k_mib))
    make_file "$dir/Daily-System_D000_F.img" "$size" "main/$f/full/0" 0
    total=$((total + size))
    for d in $(seq 1 6); do
      size=$(incremental_size "$f" "$d")
      # The very last incremental brings the repository to exactly 2 GiB.
      if ((f == 40 && d == 6)); then size=$((2048 * k_mib - total)); fi
      make_file "$dir/$(printf 'Daily-System_D%03d_I.img' "$d")" "$size" "main/$f/inc/$d" "$d"
      total=$((total + size))
    done
  done
  echo 6 >"$root.day" # beside the repository, never inside it
  echo "made $root: 40 folders, $((total / k_mib)) MiB"
}

# make_small_files ROOT FOLDERS FILES_PER_FOLDER MIN_SIZE SIZE_SPREAD DEFINITIONS
make_small_files() {
  local root=$1 folders=$2 per_folder=$3 min=$4 spread=$5 definitions=$6 i dir size
  for i in $(seq 0 $((folders - 1))); do
    dir="$root/$(printf 'PC-%04d/Def-%02d' $((i / definitions + 1)) $((i % definitions + 1)))"
    mkdir -p "$dir"
    size=$((min + (i * 7919) % spread)) # one size per folder: split cuts equal pieces
    stream "$root/$i" | head -c $((size * per_folder)) | (cd "$dir" && split -b "$size" -a 4 -d --additional-suffix=.img - inc-)
    touch -d "@$((k_base_time + i))" "$dir"/*
  done
  echo "made $root: $((folders * per_folder)) files in $folders folders"
}

next_day() {
  local root=$1 day f dir oldest size
  [[ -d $root && -f $root.day ]] || {
    echo "$root: not made by this script (run it without --next-day first)" >&2
    exit 1
  }
  day=$(($(cat "$root.day") + 1))
  for f in $(seq 1 40); do
    dir="$root/$(folder_name "$f")"
    oldest=$(find "$dir" -name '*_I.img' | sort | head -n 1)
    rm -f "$oldest"
    size=$(incremental_size "$f" "$day")
    make_file "$dir/$(printf 'Daily-System_D%03d_I.img' "$day")" "$size" "main/$f/inc/$day" "$day"
  done
  # A synthetic full: the same name and size, new bytes written over the old ones.
  dir="$root/$(folder_name 2)"
  size=$(stat -c %s "$dir/Daily-System_D000_F.img")
  stream "main/2/full/$day" | head -c "$size" | dd of="$dir/Daily-System_D000_F.img" bs=1M conv=notrunc status=none
  touch -d "@$((k_base_time + day * 86400))" "$dir/Daily-System_D000_F.img"
  echo "$day" >"$root.day"
  echo "applied day $day to $root: 40 new incrementals (~80 MiB), 40 purged, a $((size / k_mib)) MiB full rewritten"
}

main() {
  command -v openssl >/dev/null || {
    echo "openssl is needed (Debian: apt-get install openssl)" >&2
    exit 1
  }
  if [[ ${1:-} == --next-day ]]; then
    [[ $# -eq 2 ]] || usage
    next_day "$2/main"
    return
  fi
  [[ $# -eq 1 ]] || usage
  mkdir -p "$1"
  [[ -e $1/main ]] || make_main "$1/main"
  [[ -e $1/files-20k ]] || make_small_files "$1/files-20k" 40 500 1024 7169 1
  [[ -e $1/files-200k ]] || make_small_files "$1/files-200k" 400 500 100 901 10
}

main "$@"
