#!/usr/bin/env bash
# setup.sh -- installs everything tidegate builds, runs and tests with: Debian 12
# packages (apt-get) and the npm packages of web/ and tests/. Idempotent, and fast
# when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev libwslay-dev libzstd-dev prometheus-cpp-dev libcli11-dev libgtest-dev
  libhttp-parser-dev libssl-dev rapidjson-dev
  python3 python3-websockets python3-zstandard
  clang libclang-rt-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Parts with needs of their own (browser tests, npm packages) add a script here.
for part in scripts/setup.d/*.sh; do
  [ -e "$part" ] || continue
  bash "$part"
done
