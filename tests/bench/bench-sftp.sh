#!/usr/bin/env bash
# SFTP-target speed and memory against references in the same run (BRIEF §8, issue 5).
#
#   bench-sftp.sh [BENCH_DIR] [OFFSITE_BINARY]
#       BENCH_DIR       holds main and files-20k from make-bench-repos.sh (made if missing;
#                       default /tmp/offsite-bench-sftp); scratch goes to BENCH_DIR/work (removed)
#       OFFSITE_BINARY  default build/src/offsite
#   Environment: RUNS (default 3; the median counts), CONCURRENCY (4), CHUNK_MIB (16).
#
# A private sshd (tests/servers/sshd.py) on 127.0.0.1 serves BENCH_DIR/work; client and server
# share this machine's cores, so every figure includes the server's work too. Warm cache: the
# source is read into the page cache before each run (the loopback link and the ciphers are what
# is measured, not the disk).
#   1. first sync of main (2 GiB): offsite vs `rclone sync --transfers CONCURRENCY` to an sftp
#      remote with the same user and key (rclone 1.60 defaults: it also asks the server for an MD5
#      of each file by running md5sum over ssh) vs `ssh -c aes128-ctr -m hmac-sha2-256 host
#      'cat > /dev/null'` of the same bytes: the cipher and MAC libssh2 1.10 negotiates (it has
#      no AES-GCM), one stream
#   2. next day (make-bench-repos.sh --next-day): offsite vs rclone sync of the same change vs the
#      ssh cat of exactly the files offsite uploaded, and vs `curl -T` of those files over SFTP
#      (BRIEF §8's "uploading those bytes alone with curl": one curl, one connection, the files
#      one after another, through the same libssh2 1.10 as offsite)
#   3. no-change re-sync of main and of files-20k: offsite vs rclone sync (rclone's mirrors of
#      files-20k and of the next-day copy are set up with cp -a into the served directory)
#   4. peak RSS and CPU seconds (user + system, client process only) per GiB of the first sync
# Prints every run and a Markdown table (also BENCH_DIR/bench-sftp-table.md).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_dir=$(realpath -m "${1:-/tmp/offsite-bench-sftp}")
offsite=$(realpath -m "${2:-build/src/offsite}")
runs=${RUNS:-3}
concurrency=${CONCURRENCY:-4}
chunk_mib=${CHUNK_MIB:-16}

die() {
  echo "bench-sftp: $*" >&2
  exit 2
}
[[ -x $offsite ]] || die "$offsite not found"
for tool in rclone jq ssh python3; do command -v $tool >/dev/null || die "$tool not found"; done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (Debian: apt-get install time)"

mkdir -p "$bench_dir"
exec 9>"$bench_dir/.bench-sftp.lock"
flock -n 9 || die "another bench-sftp.sh is running on $bench_dir"
if [[ ! -d $bench_dir/main || ! -d $bench_dir/files-20k ]]; then bash "$here/make-bench-repos.sh" "$bench_dir"; fi
work=$bench_dir/work
rm -rf "$work"
mkdir -p "$work/sshd"
eval "$(python3 "$here/../servers/sshd.py" start "$work/sshd")"
cleanup() {
  python3 "$here/../servers/sshd.py" stop "$work/sshd" || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$OFFSITE_SSHD_PORT
key=$OFFSITE_SSHD_KEY
known=$OFFSITE_SSHD_KNOWN_HOSTS
user=$OFFSITE_SSHD_USER

# shellcheck source=tests/bench/bench-lib.sh
source "$here/bench-lib.sh"

# write_config NAME REPOSITORY: its own state dir; the remote is $work/NAME/remote.
write_config() {
  local dir=$work/$1
  mkdir -p "$dir/remote"
  cat >"$dir/config.toml" <<EOF
[service]
state_dir = "$dir/state"
log_level = "info"

[[repository]]
name = "$1"
path = "$2"
folder = "Bench"
concurrency = $concurrency
chunk_size = "${chunk_mib}MiB"

  [repository.target]
  type = "sftp"
  host = "127.0.0.1"
  port = $port
  path = "$dir/remote"
  username = "$user"
  private_key = "$key"
  known_hosts = "$known"
EOF
}
# run_offsite NAME: one timed sync; sets secs, rss_kib, cpu_s.
run_offsite() {
  local dir=$work/$1 start
  start=$(now_ns)
  /usr/bin/time -v -o "$dir/time.txt" "$offsite" --config "$dir/config.toml" sync "$1" --json \
    >"$dir/result.json" 2>"$dir/stderr.txt" || { cat "$dir/stderr.txt" >&2; die "offsite sync $1 failed"; }
  secs=$(seconds_since "$start")
  rss_kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$dir/time.txt")
  cpu_s=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$dir/time.txt")
  cipher=$(grep -o 'cipher="[^"]*"' "$dir/stderr.txt" | head -n 1 | cut -d'"' -f2)
}
uploaded() { jq -r .bytes_uploaded "$work/$1/result.json"; }
export RCLONE_CONFIG_BENCH_TYPE=sftp RCLONE_CONFIG_BENCH_HOST=127.0.0.1 RCLONE_CONFIG_BENCH_PORT=$port \
  RCLONE_CONFIG_BENCH_USER=$user RCLONE_CONFIG_BENCH_KEY_FILE=$key RCLONE_CONFIG_BENCH_KNOWN_HOSTS_FILE=$known
# run_rclone SOURCE REMOTE_DIR: sets secs, rss_kib, cpu_s.
run_rclone() {
  local start
  start=$(now_ns)
  /usr/bin/time -v -o "$work/rclone-time.txt" rclone --config /dev/null -q sync --transfers "$concurrency" \
    --exclude '/.offsite/**' "$1" "bench:$2"
  secs=$(seconds_since "$start")
  rss_kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/rclone-time.txt")
  cpu_s=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$work/rclone-time.txt")
}
# run_ssh_cat ROOT [LIST]: the bytes of ROOT's files (or of the files LIST names) through one
# `ssh -c aes128-ctr -m hmac-sha2-256 … cat > /dev/null`; sets secs.
run_ssh_cat() {
  local start
  start=$(now_ns)
  if [[ -n ${2:-} ]]; then (cd "$1" && xargs -d '\n' cat <"$2"); else
    find "$1" -path "$1/.offsite" -prune -o -type f -print0 | xargs -0 cat
  fi | ssh -c aes128-ctr -m hmac-sha2-256 -p "$port" -i "$key" -o UserKnownHostsFile="$known" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes "$user@127.0.0.1" 'cat > /dev/null'
  secs=$(seconds_since "$start")
}

# The fingerprint of the host key libssh2 1.10 picks by itself (it prefers ECDSA to ed25519), for
# curl's --hostpubsha256: curl checks it, as ssh and rclone check known_hosts.
host_sha256=$(ssh-keygen -l -E sha256 -f "$work/sshd/ssh_host_ecdsa_key.pub" | awk '{ print $2 }' | sed 's/^SHA256://')
# run_curl ROOT LIST DEST: the files LIST names (relative to ROOT) uploaded with one `curl -T`
# each, in one curl process over one SFTP connection, into DEST (absolute, on the server); sets
# secs.
run_curl() {
  local start args=() file
  while IFS= read -r file; do
    args+=(-T "$1/$file" "sftp://$user@127.0.0.1:$port$3/$file")
  done <"$2"
  rm -rf "$3" && mkdir -p "$3"
  start=$(now_ns)
  curl -sS --ftp-create-dirs --key "$key" --pubkey "$key.pub" --hostpubsha256 "$host_sha256" "${args[@]}"
  secs=$(seconds_since "$start")
}

main=$bench_dir/main
main_bytes=$(tree_bytes "$main")
gib=$(awk -v b="$main_bytes" 'BEGIN { printf "%.4f", b / 1073741824 }')

# --- 1. first sync of main -----------------------------------------------------------------------
for run in $(seq 1 "$runs"); do
  echo "== first sync of main, run $run/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
  rm -rf "$work/first" && write_config first "$main"
  preread "$main"
  run_offsite first
  [[ $(uploaded first) == "$main_bytes" ]] || die "first sync uploaded $(uploaded first) bytes, not $main_bytes"
  record first.offsite "$secs"; record first.rss "$rss_kib"; record first.cpu "$cpu_s"
  echo "   offsite        $secs s  RSS $((rss_kib / 1024)) MiB  CPU $cpu_s s  ($cipher)"
  rm -rf "$work/rclone-main" && mkdir -p "$work/rclone-main"
  preread "$main"
  run_rclone "$main" "$work/rclone-main"
  record first.rclone "$secs"; record first.rclone-rss "$rss_kib"; record first.rclone-cpu "$cpu_s"
  echo "   rclone sync    $secs s  RSS $((rss_kib / 1024)) MiB  CPU $cpu_s s"
  preread "$main"
  run_ssh_cat "$main"
  record first.ssh "$secs"
  echo "   ssh cat        $secs s"
done

# --- 3. no-change re-sync of main ---------------------------------------------------------------
for run in $(seq 1 "$runs"); do
  echo "== no-change re-sync of main, run $run/$runs"
  run_offsite first
  [[ $(uploaded first) == 0 ]] || die "no-change sync uploaded $(uploaded first) bytes"
  record nochange.offsite "$secs"
  echo "   offsite        $secs s"
  run_rclone "$main" "$work/rclone-main"
  record nochange.rclone "$secs"
  echo "   rclone sync    $secs s"
done
rm -rf "$work/first" "$work/rclone-main"

files20k=$bench_dir/files-20k
write_config f20k "$files20k"
echo "== first sync of files-20k (set-up)"
run_offsite f20k
echo "   offsite        $secs s"
# rclone's own first sync of 20,000 files over SFTP takes many minutes (it runs md5sum on the
# server per file); its mirror is the same tree with the same times, so copy it in place.
cp -a "$files20k" "$work/rclone-20k"
rm -rf "$work/rclone-20k/.offsite"
for run in $(seq 1 "$runs"); do
  echo "== no-change re-sync of files-20k, run $run/$runs"
  run_offsite f20k
  [[ $(uploaded f20k) == 0 ]] || die "no-change sync of files-20k uploaded something"
  record nochange20k.offsite "$secs"
  echo "   offsite        $secs s"
  run_rclone "$files20k" "$work/rclone-20k"
  record nochange20k.rclone "$secs"
  echo "   rclone sync    $secs s"
done
rm -rf "$work/f20k" "$work/rclone-20k"

# --- 2. next day --------------------------------------------------------------------------------
echo "== next day: a copy of main synced once by each tool (set-up)"
mkdir -p "$work/day"
cp -a "$main" "$work/day/main"
rm -rf "$work/day/main/.offsite"
cp -a "$main.day" "$work/day/main.day" 2>/dev/null || echo 0 >"$work/day/main.day"
write_config nextday "$work/day/main"
run_offsite nextday
cp -a "$work/day/main" "$work/rclone-day" # rclone's mirror, as its own sync would leave it
rm -rf "$work/rclone-day/.offsite"
for run in $(seq 1 "$runs"); do
  bash "$here/make-bench-repos.sh" --next-day "$work/day" | sed 's/^/   /'
  echo "== next day, run $run/$runs"
  preread "$work/day/main"
  run_offsite nextday
  record nextday.offsite "$secs"; record nextday.bytes "$(uploaded nextday)"
  echo "   offsite        $secs s  uploaded $(uploaded nextday) bytes"
  jq -r '.files_uploaded[]' "$work/nextday/result.json" >"$work/uploaded.txt"
  run_ssh_cat "$work/day/main" "$work/uploaded.txt"
  record nextday.ssh "$secs"
  echo "   ssh cat (those) $secs s"
  run_curl "$work/day/main" "$work/uploaded.txt" "$work/curl-day"
  record nextday.curl "$secs"
  echo "   curl -T (those) $secs s"
  run_rclone "$work/day/main" "$work/rclone-day"
  record nextday.rclone "$secs"
  echo "   rclone sync    $secs s"
done

# --- the table ----------------------------------------------------------------------------------
table=$bench_dir/bench-sftp-table.md
mib_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
{
  echo "| measurement | offsite | rclone sync | ssh cat (aes128-ctr, hmac-sha2-256) | offsite vs rclone | goal |"
  echo "|---|---:|---:|---:|---:|---|"
  o=$(median first.offsite) r=$(median first.rclone) s=$(median first.ssh)
  printf '| first sync, main 2 GiB | %s s (%s MiB/s) | %s s (%s MiB/s) | %s s (%s MiB/s) | %sx throughput | >= 1.2x |\n' \
    "$o" "$(mib_s "$main_bytes" "$o")" "$r" "$(mib_s "$main_bytes" "$r")" "$s" "$(mib_s "$main_bytes" "$s")" \
    "$(awk -v a="$r" -v b="$o" 'BEGIN { printf "%.2f", a / b }')"
  o=$(median nextday.offsite) r=$(median nextday.rclone) s=$(median nextday.ssh) c=$(median nextday.curl)
  printf '| next day (%s MiB uploaded) | %s s | %s s | %s s (those files) | %sx time; %sx ssh cat; %sx `curl -T` of those files (%s s) | <= 1.2x the same bytes alone |\n' \
    "$(awk -v b="$(median nextday.bytes)" 'BEGIN { printf "%.0f", b / 1048576 }')" "$o" "$r" "$s" \
    "$(awk -v a="$o" -v b="$r" 'BEGIN { printf "%.2f", a / b }')" "$(awk -v a="$o" -v b="$s" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$o" -v b="$c" 'BEGIN { printf "%.2f", a / b }')" "$c"
  o=$(median nochange.offsite) r=$(median nochange.rclone)
  printf '| no-change, main 2 GiB | %s s | %s s | | %sx time | <= 1.0x |\n' "$o" "$r" "$(awk -v a="$o" -v b="$r" 'BEGIN { printf "%.2f", a / b }')"
  o=$(median nochange20k.offsite) r=$(median nochange20k.rclone)
  printf '| no-change, files-20k | %s s | %s s | | %sx time | <= 0.1x |\n' "$o" "$r" "$(awk -v a="$o" -v b="$r" 'BEGIN { printf "%.2f", a / b }')"
  printf '| peak RSS, first sync of main (max) | %s MiB | %s MiB | | | <= %s MiB (64 + 2 x %s x %s) |\n' \
    "$(($(maximum first.rss) / 1024))" "$(($(maximum first.rclone-rss) / 1024))" "$((64 + 2 * concurrency * chunk_mib))" "$concurrency" "$chunk_mib"
  printf '| CPU s per GiB, first sync (client process) | %s | %s | | | |\n' \
    "$(awk -v c="$(median first.cpu)" -v g="$gib" 'BEGIN { printf "%.2f", c / g }')" \
    "$(awk -v c="$(median first.rclone-cpu)" -v g="$gib" 'BEGIN { printf "%.2f", c / g }')"
} >"$table"
echo
echo "$offsite ($(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)), $(nproc) cores, RUNS=$runs (median)," \
  "concurrency $concurrency, chunk $chunk_mib MiB, negotiated: $cipher"
cat "$table"
