#!/usr/bin/env bash
# Bounded fuzz run of every cargo-fuzz target in fuzz/ (one per parser and entry point). Fails
# when any target finds a crash (panic, overflow, out-of-memory, timeout); the input is left in
# fuzz/artifacts/<target>/.
#   CACHET_FUZZ_SECONDS   seconds per target (default 20: keeps .ci/test reasonable; run longer
#                         off-CI, e.g. CACHET_FUZZ_SECONDS=300 bash tests/fuzz/run.sh)
#   bash tests/fuzz/run.sh [target...]   only these targets
# Seed corpora are made from tests/vectors at run time into fuzz/corpus/<target> (git-ignored);
# libFuzzer keeps what it finds there, so later runs start further.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
# cargo-fuzz passes nightly-only flags (-Z); stable is the only toolchain installed here.
export RUSTC_BOOTSTRAP=1

seconds="${CACHET_FUZZ_SECONDS:-20}"
all=(der_cms certificate pem pkcs8 pkcs12 mime open path roundtrip)
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all[@]}"); fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo install cargo-fuzz (first time only, ~2 min)"
  cargo install cargo-fuzz
fi

# Seeds: copy (or, for base64 MIME bodies, decode) test vectors into each target's corpus.
seed() {
  local target="$1"; shift
  local dir="fuzz/corpus/$target"
  mkdir -p "$dir"
  local f
  for f in "$@"; do
    [[ -f "$f" ]] || continue
    [[ $(stat -c %s "$f") -le 262144 ]] || continue
    cp -n "$f" "$dir/seed-$(sha1sum < "$f" | cut -c1-16)"
  done
}
mapfile -t messages < <(find tests/vectors -type f \( -name '*.eml' -o -name '*.mbox' \
  -o -name '*.message' -o -name '*.env' -o -name '*.msg' \))
mapfile -t certs < <(find tests/vectors -type f \( -name '*.pem' -o -name '*.crt' \
  -o -name '*.cer' -o -name '*.p7b' \))
mapfile -t keys < <(find tests/vectors -type f \( -name '*.key' -o -name '*.pri' \))
mapfile -t p12s < <(find tests/vectors -type f \( -name '*.p12' -o -name '*.pfx' \))
mapfile -t ders < <(find tests/vectors -type f \( -name '*.der' -o -name '*.p7s' \
  -o -name '*.p7m' -o -name '*.p7b' -o -name '*.crl' \))
# The CMS bodies of the S/MIME messages (base64 after the first blank line).
cms_dir="$(mktemp -d)"
trap 'rm -rf "$cms_dir"' EXIT
for m in "${messages[@]}"; do
  if grep -qi 'application/\(x-\)\?pkcs7-mime' "$m" 2>/dev/null; then
    awk 'body { print } /^\r?$/ { body = 1 }' "$m" | base64 -d -i > "$cms_dir/$(basename "$m").der" \
      2>/dev/null || true
  fi
done
cms_seeds=("$cms_dir"/*.der)
seed der_cms "${ders[@]}" "${cms_seeds[@]}"
seed certificate "${certs[@]}" "${ders[@]}"
seed path "${certs[@]}"
seed pem "${certs[@]}" "${keys[@]}"
seed pkcs8 "${keys[@]}" "${ders[@]}"
seed pkcs12 "${p12s[@]}"
seed mime "${messages[@]}"
seed open "${messages[@]}"
seed roundtrip "${messages[@]}"

(cd fuzz && cargo fuzz build -s none)

failed=()
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${seconds} s ($(ls "fuzz/corpus/$t" | wc -l) inputs in the corpus)"
  mkdir -p "fuzz/artifacts/$t"
  if ! (cd fuzz && cargo fuzz run -s none "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" 2>&1 | grep -v '^#[0-9]*\s*\(NEW\|REDUCE\|pulse\)'); then
    failed+=("$t")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: crashes in: ${failed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
echo "fuzz: no crash in ${#targets[@]} targets (${seconds} s each)"
