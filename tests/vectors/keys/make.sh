#!/bin/sh
# Regenerate the OpenSSL fixtures of this folder (OpenSSL 3.0). Run from this folder.
# The outputs are committed, so tests never need openssl. Password for everything: "secret".
set -eu
PW=pass:secret

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.key.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out p256.key.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -pkeyopt ec_param_enc:named_curve -out p384.key.pem
openssl genpkey -algorithm ED25519 -out ed25519.key.pem

for k in rsa2048 p256 p384 ed25519; do
  # PKCS#8 DER
  openssl pkcs8 -topk8 -nocrypt -in $k.key.pem -outform DER -out $k.key.der
  # encrypted PKCS#8, PBES2 PBKDF2-HMAC-SHA256 + AES-256-CBC
  openssl pkcs8 -topk8 -v2 aes-256-cbc -in $k.key.pem -passout $PW -out $k.enc.pem
  # self-signed certificate
  openssl req -x509 -new -key $k.key.pem -subj "/CN=Cachet test $k" -days 3650 -out $k.crt.pem
  # PKCS#12, OpenSSL 3 defaults (PBES2 AES-256-CBC, HMAC-SHA-256 MAC)
  openssl pkcs12 -export -inkey $k.key.pem -in $k.crt.pem -name "$k" -passout $PW -out $k.p12
done

# encrypted PKCS#8 variants
openssl pkcs8 -topk8 -scrypt -in p256.key.pem -passout $PW -out p256.scrypt.pem
openssl pkcs8 -topk8 -v2 aes-128-cbc -v2prf hmacWithSHA1 -in p384.key.pem -passout $PW -outform DER -out p384.enc-sha1.der
openssl pkcs8 -topk8 -v2 des3 -in rsa2048.key.pem -passout $PW -out rsa2048.enc-3des.pem

# traditional formats
openssl rsa -traditional -in rsa2048.key.pem -out rsa2048.pkcs1.pem
openssl rsa -traditional -in rsa2048.key.pem -outform DER -out rsa2048.pkcs1.der
openssl ec -in p256.key.pem -out p256.sec1.pem
openssl ec -in p384.key.pem -outform DER -out p384.sec1.der

# PKCS#12 variants
openssl pkcs12 -export -legacy -inkey rsa2048.key.pem -in rsa2048.crt.pem -passout $PW -out rsa2048.legacy.p12
openssl pkcs12 -export -legacy -inkey p256.key.pem -in p256.crt.pem -passout $PW -out p256.legacy.p12
openssl pkcs12 -export -nomac -inkey p256.key.pem -in p256.crt.pem -passout $PW -out p256.nomac.p12
openssl pkcs12 -export -keypbe NONE -certpbe NONE -inkey p384.key.pem -in p384.crt.pem -passout $PW -out p384.noenc.p12
openssl pkcs12 -export -descert -inkey rsa2048.key.pem -in rsa2048.crt.pem -passout $PW -out rsa2048.descert.p12

# a chain: CA (P-384) -> leaf (P-256), the p12 carries leaf key, leaf cert and the CA
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out chain-ca.key.pem
openssl req -x509 -new -key chain-ca.key.pem -subj "/CN=Cachet test CA" -days 3650 -out chain-ca.crt.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out chain-leaf.key.pem
openssl req -new -key chain-leaf.key.pem -subj "/CN=Cachet test leaf" -out chain-leaf.csr
openssl x509 -req -in chain-leaf.csr -CA chain-ca.crt.pem -CAkey chain-ca.key.pem -set_serial 2 -days 3650 -out chain-leaf.crt.pem
rm chain-leaf.csr
openssl pkcs12 -export -inkey chain-leaf.key.pem -in chain-leaf.crt.pem -certfile chain-ca.crt.pem -passout $PW -out chain.p12

# unsupported: a DSA key and a secp256k1 key
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -out dsa.params.pem
openssl genpkey -paramfile dsa.params.pem -out dsa.key.pem
rm dsa.params.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out secp256k1.key.pem

# legacy PBE variants: RC2-128 for the certificate, two-key 3DES for the key
openssl pkcs12 -export -legacy -certpbe PBE-SHA1-RC2-128 -keypbe PBE-SHA1-2DES -inkey p384.key.pem -in p384.crt.pem -passout $PW -out p384.rc2-128.p12

# MACs with SHA-384 and SHA-512 (the PKCS#12 KDF with a 128-byte block)
openssl pkcs12 -export -macalg sha384 -inkey ed25519.key.pem -in ed25519.crt.pem -passout $PW -out ed25519.sha384mac.p12
openssl pkcs12 -export -macalg sha512 -inkey p256.key.pem -in p256.crt.pem -passout $PW -out p256.sha512mac.p12

# non-ASCII password "pässwörd" (UTF-8 for PBKDF2, BMPString for the PKCS#12 KDF)
openssl pkcs12 -export -inkey p256.key.pem -in p256.crt.pem -passout pass:pässwörd -out p256.utf8pw.p12
openssl pkcs12 -export -legacy -inkey p256.key.pem -in p256.crt.pem -passout pass:pässwörd -out p256.utf8pw.legacy.p12
