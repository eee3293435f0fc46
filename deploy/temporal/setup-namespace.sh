#!/bin/sh
# One-shot: make sure the caseflow namespace and its custom search attributes
# exist. Runs in the temporalio/admin-tools image (service
# `temporal-create-namespace` in docker-compose.yml) with the `temporal` CLI.
#
# Idempotent: the namespace is created only if `describe` fails, and
# `search-attribute create` is a no-op for an attribute that already exists
# with the same type (it fails, loudly, if the type differs).
#
# Environment:
#   TEMPORAL_ADDRESS    frontend host:port (default temporal:7233)
#   TEMPORAL_NAMESPACE  namespace to create (default "default")
#   TEMPORAL_RETENTION  retention for a newly created namespace (default 72h)
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${TEMPORAL_RETENTION:=72h}"

host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}

# Prefer the IPv4 address: the official samples-server compose does the same
# to avoid gRPC picking an unreachable IPv6 address on some Docker setups.
ipv4=$(getent ahosts "$host" 2>/dev/null | awk '$1 ~ /^[0-9.]+$/ { print $1; exit }')
if [ -n "$ipv4" ]; then
  addr="$ipv4:$port"
else
  addr="$TEMPORAL_ADDRESS"
fi
echo "Using Temporal frontend at $addr ($TEMPORAL_ADDRESS)"

retry() {
  n=0
  until "$@"; do
    n=$((n + 1))
    if [ "$n" -ge 30 ]; then
      echo "giving up after $n attempts: $*" >&2
      return 1
    fi
    echo "retrying in 2s ($n/30): $*"
    sleep 2
  done
}

echo "Waiting for the Temporal cluster to report healthy..."
retry temporal operator cluster health --address "$addr"

ensure_namespace() {
  if temporal operator namespace describe --address "$addr" --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
    echo "Namespace '$TEMPORAL_NAMESPACE' exists"
    return 0
  fi
  echo "Creating namespace '$TEMPORAL_NAMESPACE' (retention $TEMPORAL_RETENTION)"
  temporal operator namespace create --address "$addr" \
    --namespace "$TEMPORAL_NAMESPACE" --retention "$TEMPORAL_RETENTION"
}
retry ensure_namespace

# The six custom search attributes caseflow's workflows upsert. On SQL
# visibility these become per-namespace aliases of pre-allocated columns
# (PostgreSQL v12 schema: 10 Keyword, 3 Datetime, 3 Bool slots).
echo "Registering caseflow search attributes on '$TEMPORAL_NAMESPACE'"
retry temporal operator search-attribute create --address "$addr" \
  --namespace "$TEMPORAL_NAMESPACE" \
  --name CasePhase --type Keyword \
  --name CaseRisk --type Keyword \
  --name CaseProgram --type Keyword \
  --name CaseManager --type Keyword \
  --name CaseNextDue --type Datetime \
  --name CasePaused --type Bool

temporal operator search-attribute list --address "$addr" --namespace "$TEMPORAL_NAMESPACE"
echo "Namespace '$TEMPORAL_NAMESPACE' is ready for caseflow"
