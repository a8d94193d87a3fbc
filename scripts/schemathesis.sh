#!/usr/bin/env bash
# The HTTP contract, fuzzed: Schemathesis (PyPI) generates requests from ingest's own OpenAPI
# document (GET /openapi.json) and fails on any 5xx, any status, content type, header or body the
# document does not declare, and any operation that answers without the credential it requires.
#
#   scripts/schemathesis.sh --install-only                          install (or check) Schemathesis
#   scripts/schemathesis.sh INGEST_URL VENDOR_KEY OPERATOR_TOKEN [MAX_EXAMPLES]
#
# Schemathesis lives in a virtualenv under ~/.cache (SCHEMATHESIS_VENV to move it), pinned to one
# version: a warm machine runs it offline; a cold one installs it from PyPI once.
# test/integration/contract.test.ts runs this against a real ingest process.
set -euo pipefail
VERSION=4.32.5
VENV=${SCHEMATHESIS_VENV:-$HOME/.cache/lead-router/schemathesis-$VERSION}

installed() { [ -x "$VENV/bin/st" ] && "$VENV/bin/st" --version 2>/dev/null | grep -q "$VERSION"; }
if ! installed; then
  command -v python3 >/dev/null || { echo "schemathesis.sh: python3 (3.9+) is needed" >&2; exit 1; }
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
  installed || { echo "schemathesis.sh: Schemathesis $VERSION did not install into $VENV" >&2; exit 1; }
fi
[ "${1:-}" = "--install-only" ] && { echo "schemathesis $VERSION ready in $VENV"; exit 0; }

URL=${1:?usage: schemathesis.sh INGEST_URL VENDOR_KEY OPERATOR_TOKEN [MAX_EXAMPLES]}
KEY=${2:?vendor key (x-api-key)}
TOKEN=${3:?operator token (Authorization: Bearer)}
EXAMPLES=${4:-25}

# Bounded: examples per operation, one worker, a fixed seed (a failure reproduces), no shrinking.
# The headers are spelled as the security schemes name them (`Authorization` for the bearer
# scheme): ignored_auth removes a credential by that exact, case-sensitive name before its
# "without authentication" probe, and a lower-case copy would stay and authenticate the probe.
exec "$VENV/bin/st" run "$URL/openapi.json" \
  --url "$URL" \
  -H "x-api-key: $KEY" \
  -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,ignored_auth \
  --phases examples,coverage,fuzzing \
  --max-examples "$EXAMPLES" \
  --seed 8 \
  --workers 1 \
  --request-timeout 15 \
  --no-shrink \
  --suppress-health-check all \
  --warnings off
