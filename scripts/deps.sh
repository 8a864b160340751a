#!/usr/bin/env bash
# Install the Debian packages keel needs to build and test, and only those
# that are missing (apt-get update runs first, and only when something is
# missing). Root runs apt-get directly; anyone else through sudo.
#   scripts/deps.sh            build + test packages
#   scripts/deps.sh --bench    also the benchmark peers
set -euo pipefail

pkgs=(gcc make cmake pkg-config libc6-dev
      libyaml-dev libssl-dev libjansson-dev libcmocka-dev
      libsqlite3-dev libpq-dev libzstd-dev zstd postgresql
      libopenblas-openmp-dev liblapacke-dev
      clang libclang-rt-14-dev)
if [ "${1:-}" = "--bench" ]; then
    pkgs+=(python3 python3-pandas python3-numpy python3-scipy python3-sklearn
           python3-xgboost python3-statsmodels python3-threadpoolctl sqlite3 hyperfine time)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "keel: installing missing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "keel: error: need root or sudo to install ${missing[*]}" >&2; exit 3; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
