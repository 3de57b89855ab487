#!/usr/bin/env bash
# Removes what install.sh added for one printer, and only that: the systemd
# service of that printer_data folder (moonraker-polarcloud, or
# moonraker-polarcloud-<name> for printer_<name>_data), its EnvironmentFile, its
# line in moonraker.asvc, the marked [update_manager] block in moonraker.conf,
# the marked include line in printer.cfg and its `polarcloud` command in
# ~/.local/bin. Other printers on the host are not touched. The user's own
# lines around what it removes stay byte for byte.
#
# polarcloud.yaml, polarcloud_macros.cfg and the data folder (the printer's key
# and serial number) are asked about one by one; -y keeps them, --purge deletes
# them without asking. Running it again changes nothing.
set -euo pipefail

PROG=uninstall.sh
INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${INSTALL_DIR}/common.sh"

PURGE=0
RESTART=1
MOONRAKER_CHANGED=0
INCLUDE_LEFT=0

usage() {
  cat <<EOF
Usage: uninstall.sh [--data-dir DIR] [-y] [--purge] [--no-restart] [--help]

Removes moonraker-polarcloud's service and the lines install.sh added to
moonraker.conf, moonraker.asvc and printer.cfg. Run it as the printer's user,
not as root. Safe to run again.

  --data-dir DIR   the printer_data folder (default: ~/printer_data, or the only
                   ~/printer_<name>_data); only that printer's instance is removed
  -y, --yes        do not ask; keep polarcloud.yaml, polarcloud_macros.cfg and
                   the data folder (the printer's key and serial number)
  --purge          delete those three as well, without asking
  --no-restart     do not restart Moonraker
  -h, --help       this text
EOF
}

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --data-dir)
        [ $# -ge 2 ] || die "--data-dir needs a folder" 2
        DATA_DIR="$2"
        shift 2
        ;;
      --data-dir=*) DATA_DIR="${1#*=}"; shift ;;
      -y | --yes) ASSUME_YES=1; shift ;;
      --purge) PURGE=1; shift ;;
      --no-restart) RESTART=0; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" 2 ;;
    esac
  done
}

remove_unit() {
  local env_file="${DATA_DIR}/systemd/${ENV_NAME}" other
  if [ ! -f "${UNIT_FILE}" ]; then
    report service "already removed"
    return
  fi
  other="$(unit_env_file "${UNIT_FILE}")"
  if [ "${other}" != "${env_file}" ]; then
    report service "left alone: ${UNIT_FILE} serves another printer (EnvironmentFile=${other})"
    return
  fi
  sudo systemctl disable --now "${SERVICE}"
  sudo rm -f "${UNIT_FILE}"
  sudo systemctl daemon-reload
  sudo systemctl reset-failed "${SERVICE}" 2>/dev/null || true
  report service "stopped, disabled and removed ${UNIT_FILE}"
}

remove_env_file() {
  local env_file="${DATA_DIR}/systemd/${ENV_NAME}"
  if [ -e "${env_file}" ]; then
    rm -f "${env_file}"
    report "service args" "removed ${env_file}"
  else
    report "service args" "already removed"
  fi
}

remove_asvc_line() {
  local asvc="${DATA_DIR}/moonraker.asvc"
  if [ ! -f "${asvc}" ] || ! grep -Eq "^[[:space:]]*${SERVICE}(\\.service)?[[:space:]]*\$" "${asvc}"; then
    report moonraker.asvc "already removed"
    return
  fi
  scratch_for "${asvc}"
  awk -v svc="${SERVICE}" '{ line = $0; gsub(/^[[:space:]]+|[[:space:]]+$/, "", line) }
    line != svc && line != svc ".service" { print }' "${asvc}" >"${SCRATCH_FILE}"
  replace_if_changed "${asvc}" "${SCRATCH_FILE}" || true
  MOONRAKER_CHANGED=1
  report moonraker.asvc "removed ${SERVICE}"
}

# Drops the marked block and the one blank line install.sh put before it.
remove_update_manager() {
  local conf="${DATA_DIR}/config/moonraker.conf"
  if [ ! -f "${conf}" ] || ! grep -qxF "${UM_BEGIN}" "${conf}"; then
    report update_manager "already removed"
    return
  fi
  scratch_for "${conf}"
  awk -v begin="${UM_BEGIN}" -v end="${UM_END}" '
    skipping { if ($0 == end) skipping = 0; next }
    $0 == begin { held = 0; skipping = 1; next }
    $0 == "" { if (held) print ""; held = 1; next }
    { if (held) print ""; held = 0; print }
    END { if (held) print "" }' "${conf}" >"${SCRATCH_FILE}"
  replace_if_changed "${conf}" "${SCRATCH_FILE}" || true
  MOONRAKER_CHANGED=1
  report update_manager "removed [update_manager ${BASE_SERVICE}] from ${conf}"
}

remove_wrapper() {
  if [ ! -e "${WRAPPER}" ]; then
    report command "already removed"
  elif wrapper_is_ours; then
    rm -f "${WRAPPER}"
    report command "removed ${WRAPPER}"
  else
    report command "left alone: ${WRAPPER} is not the one install.sh wrote for this printer"
  fi
}

remove_include() {
  local cfg="${DATA_DIR}/config/printer.cfg"
  if [ ! -f "${cfg}" ]; then
    report printer.cfg "already removed"
    return
  fi
  if grep -qxF "${INCLUDE_LINE}" "${cfg}"; then
    scratch_for "${cfg}"
    awk -v line="${INCLUDE_LINE}" '$0 != line { print }' "${cfg}" >"${SCRATCH_FILE}"
    replace_if_changed "${cfg}" "${SCRATCH_FILE}" || true
    report printer.cfg "removed [include polarcloud_macros.cfg] (RESTART Klipper to drop the macros)"
  else
    report printer.cfg "already removed"
  fi
  # An include written by hand stays, and so must the file it names.
  if grep -Eq '^[[:space:]]*\[[[:space:]]*include[[:space:]]+polarcloud_macros\.cfg[[:space:]]*\]' "${cfg}"; then
    INCLUDE_LEFT=1
  fi
}

# Deletes PATH after asking (default no); -y keeps it, --purge deletes it.
remove_kept() {
  local step="$1" path="$2" what="$3"
  if [ ! -e "${path}" ]; then
    report "${step}" "already removed"
    return
  fi
  if [ "${PURGE}" != 1 ]; then
    if [ "${ASSUME_YES}" = 1 ] || ! ask "Delete ${path} (${what})?" n; then
      report "${step}" "kept ${path}"
      return
    fi
  fi
  rm -rf -- "${path}"
  report "${step}" "deleted ${path}"
}

restart_moonraker() {
  [ "${MOONRAKER_CHANGED}" = 1 ] || return 0
  if [ "${RESTART}" = 1 ]; then
    sudo systemctl restart "${MOONRAKER_SERVICE}"
    report moonraker "restarted ${MOONRAKER_SERVICE}"
  else
    report moonraker "not restarted (--no-restart): sudo systemctl restart ${MOONRAKER_SERVICE}"
  fi
}

main() {
  parse_args "$@"
  refuse_root
  find_data_dir
  say "Uninstalling moonraker-polarcloud"
  report "printer_data" "${DATA_DIR}"
  report "instance" "${SERVICE}"
  remove_unit
  remove_env_file
  remove_asvc_line
  remove_update_manager
  remove_include
  remove_wrapper
  remove_kept config "${DATA_DIR}/config/polarcloud.yaml" "your moonraker-polarcloud settings"
  if [ "${INCLUDE_LEFT}" = 1 ] && [ -e "${DATA_DIR}/config/polarcloud_macros.cfg" ]; then
    report macros "kept: printer.cfg still includes polarcloud_macros.cfg (a line install.sh did not write)"
  else
    remove_kept macros "${DATA_DIR}/config/polarcloud_macros.cfg" "the POLAR_* console macros"
  fi
  remove_kept "data folder" "${DATA_DIR}/polarcloud" "the printer's key and serial number; without them it must be registered again"
  restart_moonraker
  say "Done."
}

main "$@"
