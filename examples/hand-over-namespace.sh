#!/usr/bin/env bash
# Hands a pre-created target namespace over to a kube-bisync instance (docs/security.md, "The
# ownership record"): adds the namespace's entry, its uid and the source namespace it is for, to
# the instance's ownership record, the ConfigMap kube-bisync-ownership-<cluster-name> in the
# state namespace. Run it as a host admin against the target (host) cluster.
#
# Usage: hand-over-namespace.sh CLUSTER_NAME STATE_NAMESPACE TARGET_NAMESPACE SOURCE_NAMESPACE \
#          [kubectl flags, e.g. --kubeconfig host.kubeconfig --context admin]
set -euo pipefail

if [ $# -lt 4 ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
cluster=$1 state=$2 target=$3 source=$4
shift 4
kube=(kubectl "$@")
record="kube-bisync-ownership-$cluster"

uid=$("${kube[@]}" get namespace "$target" -o jsonpath='{.metadata.uid}')
entry=$(printf '{"uid":"%s","sourceNamespace":"%s"}' "$uid" "$source")
# The entry is JSON inside a JSON string: its quotes are escaped once more.
patch=$(printf '{"data":{"namespace.%s":"{\\"uid\\":\\"%s\\",\\"sourceNamespace\\":\\"%s\\"}"}}' \
  "$target" "$uid" "$source")
if "${kube[@]}" -n "$state" get configmap "$record" >/dev/null 2>&1; then
  "${kube[@]}" -n "$state" patch configmap "$record" --type merge -p "$patch"
else
  "${kube[@]}" -n "$state" create configmap "$record" --from-literal="namespace.$target=$entry"
fi
echo "namespace $target (uid $uid) handed over to kube-bisync instance $cluster for source namespace $source"
