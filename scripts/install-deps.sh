#!/usr/bin/env bash
# Installs everything offsite needs to build, test, fuzz and benchmark on Debian 12.
# Idempotent; works as root or through sudo. Usage: scripts/install-deps.sh [--tests]
#   (no flag)  build dependencies only
#   --tests    also the real servers and tools the test suite drives
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E bash "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive

build_pkgs=(
  build-essential g++ meson ninja-build pkg-config
  libasio-dev libssh2-1-dev libcurl4-openssl-dev libtomlplusplus-dev libsimdjson-dev
  libxxhash-dev libboost-test-dev libsmbclient-dev libssl-dev libcli11-dev libfmt-dev
  libsystemd-dev
)
test_pkgs=(
  xxhash clang-14 libclang-rt-14-dev llvm-14 python3 rclone
  openssh-server openssh-client vsftpd samba smbclient curl iproute2 util-linux mount e2fsprogs openssl
)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--tests" ]; then
  want+=("${test_pkgs[@]}")
  # The S3 test server (tests/servers/s3) runs on node >= 18 with no npm packages. An image that
  # ships its own node (and npm) keeps it: Debian's nodejs/npm would conflict with that one.
  if ! command -v node >/dev/null; then want+=(nodejs); fi
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  # Debian's packaging starts sshd, vsftpd and smbd on their standard ports when installed;
  # tests run their own instances on loopback, so keep the packaged ones from starting.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1
  fi
  trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
