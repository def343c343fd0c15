#!/usr/bin/env bash
# Runs every test of the project, the way CI does (.ci/run execs this script):
#
#   1. setup          scripts/setup.sh (installs what is missing)
#   2. cargo test     (--no-fail-fast --workspace) engine, console, node, sim, web (native unit tests) and the cross-crate tests,
#                     including the differential test against a real redis-server
#   3. wasm test      the engine's and the simulator's wasm32 tests in headless Chromium
#   4. trunk build    the release bundle in dist/
#   5. e2e            tests/e2e/run.mjs and tests/e2e/share.mjs (Playwright) against dist/
#   6. bundle size    gzip -9 size of dist/*.wasm, *.js, *.css
#
# Every step runs even if an earlier one failed; the summary lists them all and the script
# exits non-zero if any failed. The last line is "N passed, N failed" (steps).
set -uo pipefail

cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

names=()
results=()
times=()

step() {
    local name="$1"
    shift
    echo
    echo "=================== $name ==================="
    local start=$SECONDS rc=0
    "$@" || rc=$?
    names+=("$name")
    times+=("$((SECONDS - start))")
    if [ "$rc" = 0 ]; then
        results+=(PASS)
        echo "=================== $name: PASS ==================="
    else
        results+=("FAIL (exit $rc)")
        echo "=================== $name: FAIL (exit $rc) ==================="
    fi
}

require_file() {
    if [ ! -f "$1" ]; then
        echo "MISSING: $1 does not exist (yet), so this step cannot run." >&2
        return 1
    fi
}

wasm_test() {
    require_file crates/engine/tests/wasm.rs || return 1
    CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=60 \
        timeout 1200 cargo test --target wasm32-unknown-unknown -p replscope-engine --test wasm || return 1
    # The simulator's run must hash the same in the browser as natively.
    require_file crates/sim/tests/wasm.rs || return 1
    CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=120 \
        timeout 1200 cargo test --target wasm32-unknown-unknown -p replscope-sim --test wasm
}

trunk_build() {
    require_file index.html || return 1
    timeout 1800 trunk build index.html --release --offline
}

e2e() {
    require_file tests/e2e/run.mjs || return 1
    local rc=0
    timeout 900 node tests/e2e/run.mjs || rc=1
    # Share links, embeds, export/import and hostile input (issue 7).
    timeout 600 node tests/e2e/share.mjs || rc=1
    return $rc
}

bundle_size() {
    local total=0 n=0 f size raw
    shopt -s nullglob
    local files=(dist/*.wasm dist/*.js dist/*.css)
    shopt -u nullglob
    if [ "${#files[@]}" = 0 ]; then
        echo "no dist/*.wasm, *.js or *.css: the release build did not produce a bundle" >&2
        return 1
    fi
    for f in "${files[@]}"; do
        raw=$(wc -c < "$f")
        size=$(gzip -9 -c "$f" | wc -c)
        printf '%10d bytes raw %10d bytes gzip -9  %s\n' "$raw" "$size" "$f"
        total=$((total + size))
        n=$((n + 1))
    done
    printf 'bundle: %d files, %d bytes gzipped (%d KiB)\n' "$n" "$total" "$((total / 1024))"
    # Issue 6's budget. Reported, not enforced: the note and README say where it stands.
    local budget=$((300 * 1000))
    if [ "$total" -le "$budget" ]; then
        echo "within the 300 KB budget (gzip -9, wasm + js + css)"
    else
        echo "OVER the 300 KB budget by $((total - budget)) bytes (gzip -9, wasm + js + css)"
    fi
    ls dist/*.wasm > /dev/null 2>&1 || { echo "no .wasm in dist/" >&2; return 1; }
}

step "setup" bash scripts/setup.sh
# The default members plus the web crate's native unit tests (layout, formatting).
step "cargo test" timeout 1800 cargo test --no-fail-fast --workspace
step "wasm tests (engine and simulator, headless Chromium)" wasm_test
step "trunk build --release" trunk_build
step "e2e (run.mjs, share.mjs)" e2e
step "bundle size" bundle_size

echo
echo "=================== summary ==================="
passed=0
failed=0
for i in "${!names[@]}"; do
    printf '  %-40s %-14s %5ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
    if [ "${results[$i]}" = PASS ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
