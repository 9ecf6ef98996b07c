#!/bin/sh
# Registers clicktrail's custom search attributes (workflows/definitions.ts; test/unit/search-attributes.test.ts checks the list) in Temporal.
# Idempotent: an attribute that already exists counts as success, so the compose one-shot can rerun.
# Runs in temporalio/admin-tools (Alpine: POSIX sh, `temporal` CLI on PATH).
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
ATTRIBUTES="CampaignId AdvertiserId PublisherId SessionStatus Country DeviceType"
WAIT_SECONDS="${WAIT_SECONDS:-180}"

# auto-setup creates the schema and the namespace after the frontend starts listening: wait for both.
waited=0
until temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1 &&
  temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; do
  if [ "$waited" -ge "$WAIT_SECONDS" ]; then
    echo "Temporal at $ADDRESS (namespace $NAMESPACE) not ready after ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done

for name in $ATTRIBUTES; do
  if out=$(temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" \
    --name "$name" --type Keyword 2>&1); then
    echo "created search attribute $name"
  elif printf '%s' "$out" | grep -qi 'already exists'; then
    echo "search attribute $name already exists"
  else
    printf 'failed to create search attribute %s: %s\n' "$name" "$out" >&2
    exit 1
  fi
done
