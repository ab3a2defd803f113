#!/usr/bin/env bash
# The test command (README "Test"): lint, format check and the whole suite, offline, with
# Pulumi mocks. Run it with the project's virtualenv active.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .
python -m pytest
