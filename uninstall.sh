#!/usr/bin/env bash
# Thin wrapper: the uninstall script lives in moonraker-bridge/install/uninstall.sh.
set -euo pipefail
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/moonraker-bridge/install/uninstall.sh" "$@"
