#!/usr/bin/env bash
# Makes the small demo repository of config/example.toml under /tmp/offsite-demo: two computers
# with a backup definition each, a full image and a few incrementals, and an empty "offsite disk".
# Usage: scripts/make-demo-repository.sh [ROOT]   (default /tmp/offsite-demo)
set -euo pipefail
root=${1:-/tmp/offsite-demo}
repository=$root/repository
mkdir -p "$repository" "$root/offsite-disk" "$root/state"
make_file() {  # path, size in KiB, seed
  mkdir -p "$(dirname "$1")"
  [ -f "$1" ] || head -c "$(( $2 * 1024 ))" < <(yes "$3" | tr -d '\n') > "$1"
}
make_file "$repository/PC-0001/Daily-System/full-2026-11-20.img" 3072 pc1-full
make_file "$repository/PC-0001/Daily-System/incr-2026-11-21.img" 256 pc1-i1
make_file "$repository/PC-0001/Daily-System/incr-2026-11-22.img" 300 pc1-i2
make_file "$repository/PC-0002/Weekly-Data/full-2026-11-16.img" 2048 pc2-full
make_file "$repository/PC-0002/Weekly-Data/incr-2026-11-23.img" 128 pc2-i1
make_file "$repository/PC-0002/Weekly-Data/scratch.tmp" 16 scratch
echo "demo repository ready: $repository"
