#!/usr/bin/env bash
# Build the widget front end into attnlab/static/ (commit the result: installing attnlab needs no node).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --silent
node build.mjs "$@"
