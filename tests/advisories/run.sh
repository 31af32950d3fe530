#!/usr/bin/env bash
# The advisory checks' configuration, tested offline. `cargo deny check advisories` and
# `cargo audit` need the RustSec database from github.com (.ci/test runs them where it can be
# fetched); this machine cannot reach it, so nothing else would show whether deny.toml's
# [advisories] and .cargo/audit.toml do what they say. Here both tools read a made-up database
# (a local git repository in the RustSec layout) holding:
#   - RUSTSEC-2099-0001, against every release of a crate in Cargo.lock: both tools must fail
#     and name it;
#   - a stand-in for RUSTSEC-2023-0071 (rsa, no patched version), which both configurations
#     ignore with their reason: neither may report it, and with the first advisory removed
#     both must pass.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/db"
mkdir -p "$db/crates/hex" "$db/crates/rsa"
advisory() { # id crate title patched
  cat <<ADV
\`\`\`toml
[advisory]
id = "$1"
package = "$2"
date = "2023-11-22"
url = "https://example.org/cachet-test"
categories = ["crypto-failure"]

[versions]
patched = [$4]
\`\`\`

# $3

Made up by tests/advisories/run.sh.
ADV
}
advisory RUSTSEC-2099-0001 hex "A made-up advisory against every hex release" '">= 99.0.0"' \
  > "$db/crates/hex/RUSTSEC-2099-0001.md"
advisory RUSTSEC-2023-0071 rsa "A stand-in for the Marvin advisory" '' \
  > "$db/crates/rsa/RUSTSEC-2023-0071.md"
git -C "$db" init -q -b main
git -C "$db" add .
git -C "$db" -c user.email=test@cachet.invalid -c user.name=test commit -q -m "test database"

fail() { echo "advisories test: $*" >&2; exit 1; }

# cargo-deny: deny.toml with a database URL of its own; cargo-deny keeps each database in
# db-path under a name derived from the URL, which its error for the unreachable URL names.
sed '/^\[advisories\]/a db-urls = ["https://advisories.invalid/cachet-test-db"]\ndb-path = "'"$work"'/deny-dbs"' \
  deny.toml > "$work/deny.toml"
grep -q 'advisories.invalid' "$work/deny.toml" || fail "deny.toml has no [advisories] table"
where="$(cargo deny --config "$work/deny.toml" check advisories 2>&1 \
  | grep -o "\"$work/deny-dbs/[^\"]*\"" | head -1 | tr -d '"' || true)"
[[ -n "$where" ]] || fail "could not learn where cargo-deny keeps the test database"
git clone -q "$db" "$where"

deny() { cargo deny --offline --config "$work/deny.toml" check advisories 2>&1; }
audit() { cargo audit --no-fetch --db "$db" --file "$1" 2>&1; }

# 1. The made-up advisory fails both checks, by its id; the ignored one is not reported.
for tool in deny audit; do
  if [[ $tool == deny ]]; then out="$(deny)" && fail "cargo deny passed with RUSTSEC-2099-0001 in the database"
  else out="$(audit Cargo.lock)" && fail "cargo audit passed with RUSTSEC-2099-0001 in the database"; fi
  grep -q RUSTSEC-2099-0001 <<<"$out" || fail "$tool did not name RUSTSEC-2099-0001: $out"
  grep -q RUSTSEC-2023-0071 <<<"$out" && fail "$tool reported the ignored RUSTSEC-2023-0071: $out"
  echo "advisories: $tool fails on RUSTSEC-2099-0001 and ignores RUSTSEC-2023-0071 (as configured)"
done

# 2. Without it, both pass (the ignore holds; nothing else in the test database applies).
git -C "$db" rm -q crates/hex/RUSTSEC-2099-0001.md
git -C "$db" -c user.email=test@cachet.invalid -c user.name=test commit -q -m "withdrawn"
git -C "$where" pull -q
out="$(deny)" || fail "cargo deny failed with only the ignored advisory: $out"
out="$(audit Cargo.lock)" || fail "cargo audit failed with only the ignored advisory: $out"
out="$(audit fuzz/Cargo.lock)" || fail "cargo audit failed on fuzz/Cargo.lock: $out"
echo "advisories: with only RUSTSEC-2023-0071 in the database both pass (Cargo.lock, fuzz/Cargo.lock)"
