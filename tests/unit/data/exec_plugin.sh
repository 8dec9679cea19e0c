#!/bin/sh
# A fake exec credential plugin for tests/unit/kubeconfig_test.cpp (only sh and coreutils).
# It answers with the apiVersion it finds in KUBERNETES_EXEC_INFO. Settings, from the env:
#   PLUGIN_MODE        token (default) | cert | fail | wrong-api | deep (200,000 nested arrays)
#                      | flood (2 MB of output)
#   PLUGIN_TOKEN       the token to return (default: token-from-plugin)
#   PLUGIN_EXPIRY      status.expirationTimestamp to return (default: none)
#   PLUGIN_COUNT_FILE  a line is appended per run, so tests can count runs
#   PLUGIN_INFO_FILE   KUBERNETES_EXEC_INFO and the arguments are written here
info=$KUBERNETES_EXEC_INFO
rest=${info#*\"apiVersion\":\"}
api_version=${rest%%\"*}

if [ -n "$PLUGIN_COUNT_FILE" ]; then echo run >>"$PLUGIN_COUNT_FILE"; fi
if [ -n "$PLUGIN_INFO_FILE" ]; then
  printf '%s\n' "$info" >"$PLUGIN_INFO_FILE"
  printf 'arg:%s\n' "$@" >>"$PLUGIN_INFO_FILE"
fi

expiry=
if [ -n "$PLUGIN_EXPIRY" ]; then expiry=",\"expirationTimestamp\":\"$PLUGIN_EXPIRY\""; fi

case "${PLUGIN_MODE:-token}" in
  fail)
    echo "plugin: the identity provider said no" >&2
    exit 3
    ;;
  wrong-api)
    api_version=client.authentication.k8s.io/v1alpha1
    ;;
  deep)
    head -c 200000 /dev/zero | tr '\0' '['
    exit 0
    ;;
  flood)
    head -c 2000000 /dev/zero | tr '\0' ' '
    exit 0
    ;;
  cert)
    printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"clientCertificateData":"%s","clientKeyData":"%s"%s}}\n' \
      "$api_version" "-----BEGIN CERTIFICATE-----\nplugin\n-----END CERTIFICATE-----\n" \
      "-----BEGIN PRIVATE KEY-----\nplugin\n-----END PRIVATE KEY-----\n" "$expiry"
    exit 0
    ;;
esac
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s"%s}}\n' \
  "$api_version" "${PLUGIN_TOKEN:-token-from-plugin}" "$expiry"
