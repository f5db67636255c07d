#!/usr/bin/env bash
# Run checkov from its own virtualenv (.venv-checkov), creating it on first use.
#
# checkov pins many libraries (boto3 among them) that would fight the project's .venv.
# Usage: tools/checkov.sh            (checks template.yaml with .checkov.yaml)
#        tools/checkov.sh ARGS...    (passed to checkov as they are)
# Env:   CHECKOV_PYTHON (default: python3.12 from .venv/bin or PATH), CHECKOV_VERSION (pinned below).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHECKOV_VENV:-$ROOT/.venv-checkov}"
CHECKOV_VERSION="${CHECKOV_VERSION:-3.2.500}"

if [[ -z "${CHECKOV_PYTHON:-}" ]]; then
  for candidate in "$ROOT/.venv/bin/python3.12" "$(command -v python3.12 || true)" \
                   "/root/.pyenv/versions/3.12.1/bin/python"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then CHECKOV_PYTHON="$candidate"; break; fi
  done
fi

stamp="$VENV/.checkov-$CHECKOV_VERSION"
if [[ ! -x "$VENV/bin/checkov" || ! -f "$stamp" ]]; then
  if [[ -z "${CHECKOV_PYTHON:-}" ]]; then
    echo "tools/checkov.sh: no python3.12 found (set CHECKOV_PYTHON)" >&2
    exit 2
  fi
  echo "tools/checkov.sh: installing checkov==$CHECKOV_VERSION into ${VENV#"$ROOT"/}" >&2
  base_python="$("$CHECKOV_PYTHON" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
  [[ -x "$VENV/bin/python" ]] || "$base_python" -m venv "$VENV"
  log="$VENV/pip-install.log"
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    echo "tools/checkov.sh: pip install checkov==$CHECKOV_VERSION failed" >&2
    exit 1
  fi
  rm -f "$VENV"/.checkov-*
  touch "$stamp"
fi

# No network calls to the vendor (mappings for BC_* ids, which we do not use).
export BC_SKIP_MAPPING=TRUE
cd "$ROOT"
if [[ $# -eq 0 ]]; then
  set -- -f template.yaml --config-file .checkov.yaml --compact --quiet
fi
exec "$VENV/bin/checkov" "$@"
