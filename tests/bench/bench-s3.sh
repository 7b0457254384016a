#!/usr/bin/env bash
# S3-target speed and memory against references in the same run, on the loopback S3 test server
# (tests/servers/s3; BRIEF §8, S3 issue "Benchmark").
#
#   bench-s3.sh [BENCH_DIR] [OFFSITE_BINARY]
#       BENCH_DIR       where make-bench-repos.sh makes (or finds) main and files-20k;
#                       default /tmp/offsite-bench. Scratch goes to BENCH_DIR/work-s3 (removed).
#       OFFSITE_BINARY  default build/src/offsite (a release build: -Dbuildtype=release)
#   Environment: RUNS (repeats, default 3; the median counts), CONCURRENCY (default 4),
#   CHUNK_MIB (default 16), KEEP=1 keeps BENCH_DIR/work-s3.
#
# Every measurement starts from a fresh server (stopped, its store emptied or restored, started
# again on the same ports), so each tool meets the same empty or equal bucket. Warm page cache
# (the source is read once before): the server, single-threaded node hashing MD5 and SHA-256 of
# every byte and writing it to disk, is the limit, not the source disk.
#   1. first sync of main (2 GiB): offsite vs `rclone sync` (--transfers CONCURRENCY, chunk
#      CHUNK_MIB) vs parallel curl PUTs of the same files (CONCURRENCY at a time, UNSIGNED-PAYLOAD,
#      so the server hashes less for curl than for offsite, whose payloads are signed), and vs the
#      same curl PUTs with signed payloads (sha256sum of each file first), for information; the
#      server's log tells how each tool signed its payloads
#   2. next day (make-bench-repos.sh --next-day on a copy of main): offsite vs rclone sync of the
#      same change; server-side copy time (CopyObject/UploadPartCopy in the server's request log)
#      reported on its own
#   3. no change: main and files-20k, offsite vs rclone sync (size + modtime)
#   4. peak RSS (/usr/bin/time -v) of the first sync of main
# Prints each run, then a Markdown table (also in BENCH_DIR/bench-s3-table.md). Exits 1 if a goal
# is not met.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
server_dir=$(cd "$here/../servers/s3" && pwd)
bench_dir=$(realpath -m "${1:-/tmp/offsite-bench}")
offsite=$(realpath -m "${2:-build/src/offsite}")
runs=${RUNS:-3}
concurrency=${CONCURRENCY:-4}
chunk_mib=${CHUNK_MIB:-16}

die() {
  echo "bench-s3: $*" >&2
  exit 2
}
[[ -x $offsite ]] || die "$offsite not found: meson setup build -Dbuildtype=release && meson compile -C build"
for tool in rclone jq openssl node curl python3; do command -v $tool >/dev/null || die "$tool not found (scripts/install-deps.sh --tests)"; done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (Debian: apt-get install time)"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"

mkdir -p "$bench_dir"
exec 9>"$bench_dir/.bench-s3.lock"
flock -n 9 || die "another bench-s3.sh is running on $bench_dir"
bash "$here/make-bench-repos.sh" "$bench_dir"
work=$bench_dir/work-s3
rm -rf "$work"
mkdir -p "$work"
server=$work/server
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  bash "$server_dir/stop.sh" "$server" || true
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT
unset AWS_CA_BUNDLE # rclone's S3 backend fails with it set (tests/servers/s3/README.md)

# --- helpers -----------------------------------------------------------------------------------

# shellcheck source=tests/bench/bench-lib.sh
source "$here/bench-lib.sh"
mibps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? b / 1048576 / s : 0) }'; }

# The server: started once for its ports and credentials, restarted on them with a chosen store.
bash "$server_dir/start.sh" "$server" >/dev/null
http_port=$(jq -r .http_port "$server/server.json")
https_port=$(jq -r .https_port "$server/server.json")
endpoint=$(jq -r .endpoint "$server/server.json")
access_key=$(cat "$server/access_key")
secret_key_file=$server/secret_key
export S3_TEST_ACCESS_KEY=$access_key
S3_TEST_SECRET_KEY=$(cat "$secret_key_file")
export S3_TEST_SECRET_KEY
# restart_server [STORE_TEMPLATE]: an empty store, or a copy of a saved one, and an empty request log.
restart_server() {
  bash "$server_dir/stop.sh" "$server"
  rm -rf "$server/data"
  : >"$server/requests.log" # copy_stats and payload_kinds read what this start received
  if [[ -n ${1:-} ]]; then cp -a "$1" "$server/data"; fi
  bash "$server_dir/start.sh" "$server" --port "$http_port" --https-port "$https_port" >/dev/null
}
save_store() {
  rm -rf "$1"
  bash "$server_dir/stop.sh" "$server"
  cp -a "$server/data" "$1"
  bash "$server_dir/start.sh" "$server" --port "$http_port" --https-port "$https_port" >/dev/null
}
# copy_stats: CopyObject/UploadPartCopy requests in the server's log since restart_server, and
# their total time.
copy_stats() {
  jq -s -r '[.[] | select(.action == "CopyObject" or .action == "UploadPartCopy")] | "\(length) \((map(.ms) | add // 0) / 1000)"' "$server/requests.log"
}

# payload_kinds: how the PUTs and parts the server received since restart_server were signed.
payload_kinds() {
  jq -s -r '[.[] | select(.action == "PutObject" or .action == "UploadPart")] | group_by(.payload)
    | map("\(.[0].payload) \(length)") | join(", ")' "$server/requests.log"
}
# write_config NAME REPOSITORY PREFIX
write_config() {
  local name=$1 repository=$2 prefix=$3 dir=$work/$1
  mkdir -p "$dir"
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
  type = "s3"
  bucket = "offsite-test"
  prefix = "$prefix"
  region = "us-east-1"
  endpoint = "$endpoint"
  url_style = "path"
  access_key_id = "$access_key"
  secret_access_key_file = "$secret_key_file"
EOF
}
run_offsite() {
  local dir=$work/$1 start
  start=$(now_ns)
  if ! /usr/bin/time -v -o "$dir/time.txt" "$offsite" --config "$dir/config.toml" sync "$1" --json \
    >"$dir/result.json" 2>"$dir/stderr.txt"; then
    cat "$dir/stderr.txt" "$dir/result.json" >&2
    die "offsite sync $1 failed"
  fi
  secs=$(seconds_since "$start")
  rss_kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$dir/time.txt")
  [[ $(jq -r .outcome "$dir/result.json") == success ]] || die "offsite sync $1: $(jq -c '{outcome,error}' "$dir/result.json")"
}
uploaded() { jq -r .bytes_uploaded "$work/$1/result.json"; }
run_ref() {
  local start
  start=$(now_ns)
  "$@"
  secs=$(seconds_since "$start")
}
rclone_env=(env RCLONE_CONFIG=/dev/null RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Other
  RCLONE_CONFIG_B_ACCESS_KEY_ID="$access_key" RCLONE_CONFIG_B_SECRET_ACCESS_KEY="$S3_TEST_SECRET_KEY"
  RCLONE_CONFIG_B_ENDPOINT="$endpoint" RCLONE_CONFIG_B_REGION=us-east-1 RCLONE_CONFIG_B_FORCE_PATH_STYLE=true
  RCLONE_CONFIG_B_LIST_VERSION=2)
# rclone_sync SOURCE PREFIX [options]
rclone_sync() {
  local source=$1 prefix=$2
  shift 2
  "${rclone_env[@]}" rclone -q sync --transfers "$concurrency" --s3-upload-concurrency "$concurrency" \
    --s3-chunk-size "${chunk_mib}M" --exclude '/.offsite/**' "$@" "$source" "b:offsite-test/$prefix"
}
# shellcheck disable=SC2317 # called through run_ref
# curl_puts_signed SOURCE PREFIX: the same, each file's SHA-256 computed first (sha256sum) and sent
# as its signed x-amz-content-sha256, so that the server checks what it checks for offsite.
curl_puts_signed() {
  # shellcheck disable=SC2016 # the inner script's own arguments
  (cd "$1" && find . -path ./.offsite -prune -o -type f -printf '%P\n' |
    xargs -P "$concurrency" -I{} sh -c 'curl -sf -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 \
      --user "$1" -H "x-amz-content-sha256: $(sha256sum "$2" | cut -c1-64)" -T "$2" "$3/$2"' \
      sh "$access_key:$S3_TEST_SECRET_KEY" {} "$endpoint/offsite-test/$2")
}
# shellcheck disable=SC2317 # called through run_ref
# curl_puts SOURCE PREFIX: every file PUT whole, CONCURRENCY at a time (bench repo names need no
# URL encoding).
curl_puts() {
  (cd "$1" && find . -path ./.offsite -prune -o -type f -printf '%P\n' |
    xargs -P "$concurrency" -I{} curl -sf -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 \
      --user "$access_key:$S3_TEST_SECRET_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
      -T {} "$endpoint/offsite-test/$2/{}")
}

# --- 1. first sync of main ---------------------------------------------------------------------

main=$bench_dir/main
main_bytes=$(tree_bytes "$main")
write_config first "$main" offsite
preread "$main"
for run in $(seq 1 "$runs"); do
  note_load "first sync of main ($((main_bytes / 1048576)) MiB), run $run/$runs"
  restart_server
  rm -rf "$work/first/state"
  run_offsite first
  [[ $(uploaded first) == "$main_bytes" ]] || die "first sync uploaded $(uploaded first) bytes, not $main_bytes"
  record first.offsite "$secs"
  record first.rss "$rss_kib"
  echo "   offsite          $secs s ($(mibps "$main_bytes" "$secs") MiB/s)   peak RSS $(mib_of_kib "$rss_kib") MiB; payloads: $(payload_kinds)"
  [[ $run == "$runs" ]] && save_store "$work/store-offsite"

  restart_server
  run_ref rclone_sync "$main" rclone
  record first.rclone "$secs"
  echo "   rclone sync      $secs s ($(mibps "$main_bytes" "$secs") MiB/s); payloads: $(payload_kinds)"

  restart_server
  run_ref curl_puts "$main" curl
  record first.curl "$secs"
  echo "   curl PUTs        $secs s ($(mibps "$main_bytes" "$secs") MiB/s)"

  restart_server
  run_ref curl_puts_signed "$main" curl
  record first.curl-signed "$secs"
  echo "   curl PUTs, signed payloads $secs s ($(mibps "$main_bytes" "$secs") MiB/s)"
  echo "   payloads: $(payload_kinds)"
done

# --- 2. no change ------------------------------------------------------------------------------

# Both mirrors of main in one store, so that each tool's no-change run sees its own mirror.
restart_server "$work/store-offsite"
rclone_sync "$main" rclone
rm -rf "$work/store-offsite"
for run in $(seq 1 "$runs"); do
  note_load "no-change re-sync of main, run $run/$runs"
  run_offsite first
  [[ $(uploaded first) == 0 ]] || die "no-change sync of main uploaded $(uploaded first) bytes"
  record nochange-main.offsite "$secs"
  echo "   offsite          $secs s"
  run_ref rclone_sync "$main" rclone
  record nochange-main.rclone "$secs"
  echo "   rclone sync      $secs s"
done

files20k=$bench_dir/files-20k
write_config f20k "$files20k" offsite20k
restart_server
note_load "first sync of files-20k (set-up, shown for information)"
run_offsite f20k
record first20k.offsite "$secs"
echo "   offsite          $secs s"
run_ref rclone_sync "$files20k" rclone20k
record first20k.rclone "$secs"
echo "   rclone sync      $secs s"
for run in $(seq 1 "$runs"); do
  note_load "no-change re-sync of files-20k, run $run/$runs"
  run_offsite f20k
  [[ $(uploaded f20k) == 0 ]] || die "no-change sync of files-20k uploaded $(uploaded f20k) bytes"
  record nochange-20k.offsite "$secs"
  echo "   offsite          $secs s"
  run_ref rclone_sync "$files20k" rclone20k
  record nochange-20k.rclone "$secs"
  echo "   rclone sync      $secs s"
done

# --- 3. next day -------------------------------------------------------------------------------

note_load "next day: a copy of main, synced by both tools (set-up)"
mkdir -p "$work/day"
cp -a "$main" "$work/day/main"
rm -rf "$work/day/main/.offsite"
cp -a "$main.day" "$work/day/main.day"
write_config nextday "$work/day/main" offsite-day
restart_server
run_offsite nextday
rclone_sync "$work/day/main" rclone-day
save_store "$work/store-day"
for run in $(seq 1 "$runs"); do
  bash "$here/make-bench-repos.sh" --next-day "$work/day" | sed 's/^/   /'
  preread "$work/day/main"
  note_load "next day $(cat "$work/day/main.day"), run $run/$runs"
  restart_server "$work/store-day"
  run_offsite nextday
  read -r copies copy_secs < <(copy_stats)
  record nextday.offsite "$secs"
  record nextday.copy "$copy_secs"
  record nextday.bytes "$(uploaded nextday)"
  echo "   offsite          $secs s   uploaded $(uploaded nextday) bytes; server-side copies: $copies requests, $copy_secs s"
  run_ref rclone_sync "$work/day/main" rclone-day
  record nextday.rclone "$secs"
  echo "   rclone sync      $secs s"
  save_store "$work/store-day"
done

# --- the table ---------------------------------------------------------------------------------

start_table "$bench_dir/bench-s3-table.md"
row "first sync, main 2 GiB ($(mibps "$main_bytes" "$(median first.offsite)") MiB/s)" "rclone sync" "$(median first.offsite)" "$(median first.rclone)" s 1.0
row "first sync, main 2 GiB" "parallel curl PUTs" "$(median first.offsite)" "$(median first.curl)" s 1.11
row "first sync, main 2 GiB" "parallel curl PUTs, signed payloads (sha256sum first)" "$(median first.offsite)" "$(median first.curl-signed)" s ""
row "next day ($(awk -v b="$(median nextday.bytes)" 'BEGIN { printf "%.0f", b / 1048576 }') MiB uploaded)" "rclone sync" "$(median nextday.offsite)" "$(median nextday.rclone)" s ""
row "next day: server-side copy time, on its own" "the whole next-day sync" "$(median nextday.copy)" "$(median nextday.offsite)" s ""
row "no-change re-sync, main 2 GiB" "rclone sync" "$(median nochange-main.offsite)" "$(median nochange-main.rclone)" s ""
row "no-change re-sync, files-20k" "rclone sync" "$(median nochange-20k.offsite)" "$(median nochange-20k.rclone)" s 0.1
row "first sync, files-20k (1 run)" "rclone sync" "$(median first20k.offsite)" "$(median first20k.rclone)" s ""
limit_mib=$((64 + 2 * concurrency * chunk_mib))
row "peak RSS, first sync of main (max of runs)" "64 MiB + 2 x $concurrency x $chunk_mib MiB" \
  "$(mib_of_kib "$(maximum first.rss)")" "$limit_mib" MiB 1.0

echo
echo "$offsite (source $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)), $(nproc) cores; RUNS=$runs, median of each;" \
  "concurrency $concurrency, chunk ${chunk_mib} MiB; warm page cache; highest 1-minute load average seen before a measurement: $max_load"
cat "$table"
exit "$failed"
