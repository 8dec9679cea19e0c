#!/usr/bin/env bash
# Writes the testbed's key material into DIR with the openssl CLI:
#   client-ca.crt/.key   a CA the API servers trust for client certificates (--client-ca-file)
#   admin-cert.crt/.key  a client certificate for user "admin-cert" in group system:masters
#   source-sa.key/.pub   the source server's service-account token signing key pair
#   target-sa.key/.pub   the target server's: a token one server issued is no good on the other
# The API servers' serving certificates are not made here: each server generates its own
# self-signed pair in its --cert-dir (apiserver.crt holds the certificate and its CA).
set -euo pipefail

dir=${1:?usage: gen-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

ossl() { openssl "$@" 2>/dev/null; }

ossl ecparam -name prime256v1 -genkey -noout -out client-ca.key
ossl req -x509 -new -key client-ca.key -sha256 -days 3650 -subj "/CN=kube-bisync-testbed-client-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out client-ca.crt

ossl ecparam -name prime256v1 -genkey -noout -out admin-cert.key
ossl req -new -key admin-cert.key -subj "/O=system:masters/CN=admin-cert" -out admin-cert.csr
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=clientAuth" >admin-cert.ext
ossl x509 -req -in admin-cert.csr -CA client-ca.crt -CAkey client-ca.key -CAcreateserial \
  -sha256 -days 3650 -extfile admin-cert.ext -out admin-cert.crt
rm -f admin-cert.csr admin-cert.ext client-ca.srl

for side in source target; do
  ossl genrsa -out "$side-sa.key" 2048
  ossl rsa -in "$side-sa.key" -pubout -out "$side-sa.pub"
done
