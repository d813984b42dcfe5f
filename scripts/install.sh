#!/usr/bin/env bash
# Create .venv and install rsclip-search into it.
#   scripts/install.sh          the application
#   scripts/install.sh --dev    also what the tests need (pytest, Playwright driver, Debian chromium)
# The CPU build of torch goes in first, so nothing later can pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${RSCLIP_VENV:-.venv}
TORCH_VERSION=${RSCLIP_TORCH_VERSION:-2.13.0}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip

# Ask for the "+cpu" build by name: pip takes it from a local wheel folder (find-links) when one
# is configured, and otherwise from PyTorch's CPU index. PyPI alone would serve the CUDA build.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "$VENV/bin/python" -m pip install --quiet "torch==$TORCH_VERSION+cpu" 2>/dev/null \
    || "$VENV/bin/python" -m pip install --quiet "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu
fi

if [ "${1:-}" = "--dev" ]; then
  "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
  # The browser test drives Debian's Chromium through Playwright: never a downloaded browser build.
  # A Chinese font (1.6 MB) so the zh-CN page's screenshots show characters, not boxes.
  NEEDED=""
  [ -x /usr/bin/chromium ] || NEEDED="chromium"
  if [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then NEEDED="$NEEDED fonts-wqy-microhei"; fi
  if [ -n "$NEEDED" ] && command -v apt-get >/dev/null 2>&1; then
    AS_ROOT=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then AS_ROOT="sudo"; fi
    echo "installing for the browser tests:$NEEDED"
    # shellcheck disable=SC2086
    { $AS_ROOT apt-get update -qq && $AS_ROOT env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $NEEDED; } \
      || echo "warning: could not install$NEEDED; without chromium the browser tests are skipped"
  fi
else
  "$VENV/bin/python" -m pip install --quiet -e .
fi
"$VENV/bin/python" -c "import torch; print('installed with torch', torch.__version__)"
