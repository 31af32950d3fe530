#!/usr/bin/env bash
# Picked up by .ci/test (tests/browser/*.sh): the wasm-bindgen tests (tests/wasm.rs) in Node and
# in headless Chromium. See tests/wasm/run.
exec bash "$(dirname "$0")/../wasm/run" "$@"
