#!/usr/bin/env bash
# Run the AWS SAM CLI from its own virtualenv (.venv-sam), creating it on first use.
#
# aws-sam-cli pins its own boto3/botocore, so it must not share the project's .venv.
# Usage: tools/sam.sh validate --lint | tools/sam.sh build | tools/sam.sh deploy --guided
# Env:   SAM_PYTHON (default: python3.12 from .venv/bin or PATH), SAM_CLI_VERSION (pinned below).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAM_VENV="${SAM_VENV:-$ROOT/.venv-sam}"
SAM_CLI_VERSION="${SAM_CLI_VERSION:-1.170.0}"

# `sam build` for python3.12 needs a python3.12 on PATH: the project's .venv has one.
if [[ -d "$ROOT/.venv/bin" ]]; then
  export PATH="$ROOT/.venv/bin:$PATH"
fi

if [[ -z "${SAM_PYTHON:-}" ]]; then
  for candidate in "$ROOT/.venv/bin/python3.12" "$(command -v python3.12 || true)" \
                   "/root/.pyenv/versions/3.12.1/bin/python"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then SAM_PYTHON="$candidate"; break; fi
  done
fi

stamp="$SAM_VENV/.aws-sam-cli-$SAM_CLI_VERSION"
if [[ ! -x "$SAM_VENV/bin/sam" || ! -f "$stamp" ]]; then
  if [[ -z "${SAM_PYTHON:-}" ]]; then
    echo "tools/sam.sh: no python3.12 found (set SAM_PYTHON)" >&2
    exit 2
  fi
  echo "tools/sam.sh: installing aws-sam-cli==$SAM_CLI_VERSION into ${SAM_VENV#"$ROOT"/}" >&2
  # A base interpreter, not the project venv's, so .venv-sam does not depend on .venv.
  base_python="$("$SAM_PYTHON" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
  if [[ ! -x "$SAM_VENV/bin/python" ]]; then
    "$base_python" -m venv "$SAM_VENV"
  fi
  log="$SAM_VENV/pip-install.log"
  if ! "$SAM_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
       "aws-sam-cli==$SAM_CLI_VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    echo "tools/sam.sh: pip install aws-sam-cli==$SAM_CLI_VERSION failed" >&2
    exit 1
  fi
  rm -f "$SAM_VENV"/.aws-sam-cli-*
  touch "$stamp"
fi

export SAM_CLI_TELEMETRY=0
# validate/build need some region but talk to no account; deploy takes yours (profile, AWS_REGION, or it asks).
if [[ "${1:-}" != "deploy" ]]; then
  export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
  export AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}"
fi
cd "$ROOT"
exec "$SAM_VENV/bin/sam" "$@"
