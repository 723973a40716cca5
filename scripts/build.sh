#!/usr/bin/env bash
# build.sh -- configures (once) and builds tidegate into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -f build/CMakeCache.txt ] || cmake -S . -B build -G Ninja
cmake --build build
