#!/usr/bin/env bash
# Installs te-ckpt's build and test dependencies from Debian 12 packages.
# Idempotent: when every package is already installed it only runs dpkg-query (well under a second).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-format clang   # clang: libFuzzer
  libzstd-dev libisal-dev zlib1g-dev libblosc-dev libbz2-dev   # codecs
  nlohmann-json3-dev libmsgpack-cxx-dev libcli11-dev libfmt-dev  # formats, CLI, text
  libgtest-dev libgmock-dev libbenchmark-dev                     # tests, benchmarks
  python3-zarr python3-numcodecs python3-msgpack python3-numpy   # independent test oracles
  python3-zstandard python3-crc32c                               # independent OCDBT reader and writer
  zstd isal pigz time                                            # benchmark baselines
  libopenmpi-dev openmpi-bin                                     # optional: mpirun/srun runs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
