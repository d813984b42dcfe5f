#!/usr/bin/env bash
# Set up (scripts/install.sh --dev), start a throwaway PostgreSQL, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --dev
export HF_HUB_OFFLINE=1  # the tests never reach a model hub; they build their own checkpoint
source scripts/test-postgres.sh
trap stop_test_postgres EXIT
start_test_postgres
.venv/bin/python -m pytest "$@"
