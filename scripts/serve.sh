#!/usr/bin/env bash
# Builds the app and serves it on http://127.0.0.1:8080 (Trunk, release build, rebuilds on
# change). Installs the wasm target, Trunk, wasm-bindgen-cli and wasm-opt first if missing.
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/setup.sh --app-only

export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
echo "[serve] http://127.0.0.1:8080"
exec trunk serve index.html --release --offline --address 127.0.0.1 --port 8080
