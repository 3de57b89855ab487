#!/usr/bin/env bash
# Thin wrapper: the install script lives in moonraker-bridge/install/install.sh.
set -euo pipefail
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/moonraker-bridge/install/install.sh" "$@"
