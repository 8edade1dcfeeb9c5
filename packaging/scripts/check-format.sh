#!/usr/bin/env bash
# check-format.sh - fail when a tracked C file differs from .clang-format.
# Run by test.sh (and so by CI); `clang-format -i FILE` fixes what it lists.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v clang-format >/dev/null; then
    echo "check-format: clang-format not installed" >&2
    exit 1
fi
bad=$(git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run 2>&1 | grep -o '^[^:]*:[0-9]*:[0-9]*: warning' | cut -d: -f1 | sort -u || true)
if [ -n "$bad" ]; then
    echo "check-format: these files differ from .clang-format (fix: clang-format -i FILE):" >&2
    echo "$bad" | sed 's/^/  /' >&2
    exit 1
fi
