#!/usr/bin/env bash
# Whole RFC 9788 messages for tests/protect.rs, made by a peer (OpenSSL), kept in git.
#
# The Cryptographic Payloads are RFC 9788's own, byte for byte apart from CRLF line ends:
#   c3-1-2.payload  Appendix C.3.1.2 (smime-signed-enc-hp-baseline: text/plain, hp="cipher")
#   e1.payload      Appendix E.1 (text/plain with a Legacy Display Element)
#   e2.payload      Appendix E.2 (text/html with a Legacy Display Element)
# The RFC wraps them with the RFC 9216 example keys, which are not available here; these
# fixtures wrap the same payloads with `openssl cms` instead: opaque signed-data by
# alice@smime.example (a certificate issued here by tests/vectors/pki/root-ca, made by this
# script), then enveloped for bob-rsa (tests/vectors/pki), with the outer header each appendix
# describes (Subject "[...]" and the other fields as the HP-Outer lines declare).
#   c3-1-2.eml  signed + encrypted (AES-256-CBC, as RFC 9788's example uses CBC)
#   e1.eml      encrypted only (AES-128-CBC)
#   e2.eml      signed + encrypted (AES-256-GCM, AuthEnvelopedData)
# Run from anywhere: bash tests/vectors/rfc9788/make.sh (needs openssl 3). Re-running makes new
# random keys and ciphertext; the tests only depend on what the files say, not on their bytes.
set -euo pipefail
cd "$(dirname "$0")"
pki=../pki
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ ! -f alice-smime-example.pem ]]; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out alice-smime-example.key 2>/dev/null
  openssl req -new -key alice-smime-example.key -subj "/CN=Alice Lovelace/emailAddress=alice@smime.example" \
    -out "$tmp/alice.csr"
  cat > "$tmp/ext" <<'X'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=emailProtection
subjectAltName=email:alice@smime.example
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
  openssl x509 -req -in "$tmp/alice.csr" -CA $pki/root-ca.pem -CAkey $pki/root-ca.key -CAcreateserial \
    -CAserial "$tmp/serial" -days 7300 -sha256 -extfile "$tmp/ext" -out alice-smime-example.pem 2>/dev/null
fi

# outer FILE: the payload's HP-Outer lines are the outer header (RFC 9788 §2.2: they record it).
outer() { sed -n 's/^HP-Outer: //p' "$1"; }

wrap() { # wrap NAME SIGN(yes|no) CIPHER
  local name=$1 sign=$2 cipher=$3 inner="$tmp/$1.inner"
  if [[ $sign == yes ]]; then
    openssl cms -sign -nodetach -binary -in "$name.payload" -signer alice-smime-example.pem \
      -inkey alice-smime-example.key -certfile $pki/root-ca.pem -md sha256 -outform SMIME \
      -out "$inner.smime"
    # openssl writes its own MIME header (and LF line ends); keep the S/MIME entity only.
    sed 's/\r$//; s/$/\r/; 1{/^MIME-Version/d}' "$inner.smime" > "$inner"
  else
    cp "$name.payload" "$inner"
  fi
  openssl cms -encrypt -binary -in "$inner" "-$cipher" -recip $pki/bob-rsa.pem -outform SMIME \
    -out "$tmp/$name.enc"
  { outer "$name.payload" | sed 's/\r$//; s/$/\r/'
    sed 's/\r$//; s/$/\r/' "$tmp/$name.enc"
  } > "$name.eml"
}

wrap c3-1-2 yes aes-256-cbc
wrap e1 no aes-128-cbc
wrap e2 yes aes-256-gcm
echo "made: c3-1-2.eml e1.eml e2.eml"
