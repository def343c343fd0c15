#!/usr/bin/env bash
# Installs what ReplScope needs on a fresh Debian machine of this kind, skipping whatever is
# already there (safe to run again and again):
#
#   apt        redis-server (differential tests), chromium + chromium-driver (browser tests)
#   rustup     the wasm32-unknown-unknown target
#   cargo      wasm-bindgen-cli at exactly the version Cargo.lock pins, trunk 0.21.14
#   npm        the root package.json's devDependencies (playwright-core, binaryen's wasm-opt)
#
# Usage: bash scripts/setup.sh [--app-only]
#   --app-only   only what building and serving the app needs (no redis-server, no browser)
#
# Never installs Debian's binaryen: its wasm-opt 108 produces bundles that fail in the
# browser; the working wasm-opt comes from npm (node_modules/.bin/wasm-opt).
set -euo pipefail

cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
export PATH="$HOME/.cargo/bin:$PATH"

TRUNK_VERSION=0.21.14
APP_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --app-only) APP_ONLY=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

say() { echo "[setup] $*"; }

# --- Debian packages -------------------------------------------------------------------
# (Outputs are captured, not piped into grep -q, so pipefail never sees a SIGPIPE.)
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }
if [ "$APP_ONLY" = 0 ]; then
    missing=()
    for pkg in redis-server chromium chromium-driver; do
        installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "apt-get install ${missing[*]}"
        apt-get update -q
        apt-get install -y -q "${missing[@]}"
    else
        say "apt packages present: redis-server chromium chromium-driver"
    fi
fi

# --- Rust: wasm target, wasm-bindgen-cli, trunk ------------------------------------------
targets="$(rustup target list --installed)"
if printf '%s\n' "$targets" | grep -qx wasm32-unknown-unknown; then
    say "rustup target wasm32-unknown-unknown present"
else
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

# The CLI must match the wasm-bindgen crate in Cargo.lock exactly (Trunk refuses otherwise).
bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; print $3; exit }' Cargo.lock | tr -d '"')"
if [ -z "$bindgen_version" ]; then
    echo "setup.sh: no wasm-bindgen package in Cargo.lock" >&2
    exit 1
fi
have_bindgen="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have_bindgen" = "$bindgen_version" ]; then
    say "wasm-bindgen-cli $bindgen_version present"
else
    say "cargo install wasm-bindgen-cli --version $bindgen_version (found: ${have_bindgen:-none})"
    cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

have_trunk="$(trunk --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have_trunk" = "$TRUNK_VERSION" ]; then
    say "trunk $TRUNK_VERSION present"
else
    say "cargo install --locked trunk --version $TRUNK_VERSION (found: ${have_trunk:-none})"
    cargo install --locked trunk --version "$TRUNK_VERSION"
fi

# Trunk builds with --offline, which cargo obeys too: have every locked crate downloaded.
say "cargo fetch"
cargo fetch --quiet

# --- npm ---------------------------------------------------------------------------------
if [ -f package.json ]; then
    if [ -f package-lock.json ]; then
        lock=package-lock.json
        install=(npm ci --no-audit --no-fund)
    else
        lock=package.json
        install=(npm install --no-audit --no-fund)
    fi
    stamp=node_modules/.replscope-setup-stamp
    want="$(sha256sum "$lock" | awk '{print $1}')"
    if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "node_modules up to date with $lock"
    else
        say "${install[*]}"
        "${install[@]}"
        echo "$want" > "$stamp"
    fi
    if [ -x node_modules/.bin/wasm-opt ]; then
        say "wasm-opt: $(node_modules/.bin/wasm-opt --version)"
    else
        say "WARNING: node_modules/.bin/wasm-opt missing (package.json has no binaryen?)"
    fi
else
    say "WARNING: no package.json yet: skipping npm (browser tests and wasm-opt need it)"
fi

say "done"
