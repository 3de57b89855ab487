#!/usr/bin/env bash
# Installs moonraker-polarcloud for one Klipper printer on this host:
# ffmpeg (if missing), <printer_data>/config/polarcloud.yaml (only if absent),
# the 0700 data folder, the service's EnvironmentFile, the POLAR_* console
# macros, the systemd service, Moonraker's permission to restart it
# (moonraker.asvc), an [update_manager] entry in moonraker.conf and the
# `polarcloud` command in ~/.local/bin.
#
# Several printers on one host (KIAUH's printer_data, printer_2_data,
# printer_<name>_data): run it once per folder (--data-dir). Each gets its own
# service (moonraker-polarcloud, moonraker-polarcloud-2, ...), command
# (polarcloud, polarcloud-2, ...) and entries in its own folder; one checkout
# serves them all, and installing one never touches another.
#
# Every step checks before it writes, so running it again changes nothing and
# says "already installed". Lines it adds to files you own are marked, and
# uninstall.sh removes exactly those. Run it as the user Klipper and Moonraker
# run as; sudo is used only for apt-get (ffmpeg), the unit file and systemctl.
set -euo pipefail

PROG=install.sh
INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${INSTALL_DIR}/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${INSTALL_DIR}/common.sh"
# shellcheck source-path=SCRIPTDIR source=instance-steps.sh
. "${INSTALL_DIR}/instance-steps.sh"

NODE_MIN_MAJOR=18
NODE_MIN_MINOR=19
DEFAULT_ORIGIN=https://github.com/moonraker-polarcloud/moonraker-polarcloud.git
MACROS_REL=moonraker-bridge/install/polarcloud_macros.cfg
# What Moonraker writes to a missing moonraker.asvc (its asset
# default_allowed_services); a file made here must not lose these.
MOONRAKER_DEFAULT_ASVC=(klipper_mcu webcamd MoonCord KlipperScreen moonraker-telegram-bot
  moonraker-obico sonar crowsnest octoeverywhere ratos-configurator)

WITH_SERVICE=1
RESTART=1
NODE_BIN=""
USER_NAME=""
PORT=7125
CONFIG_FILE=""
ENV_FILE=""
LOG_FILE=""
MACROS_ACTIVE=0 # printer.cfg includes the macros (POLAR_REGISTER works after a RESTART)
SERVICE_CHANGED=0   # unit, EnvironmentFile or config new: (re)start the service
MOONRAKER_CHANGED=0 # moonraker.conf or moonraker.asvc changed: restart Moonraker
INCLUDE_ADDED=0

usage() {
  cat <<EOF
Usage: install.sh [--data-dir DIR] [--no-service] [--no-restart] [-y] [--help]

Installs moonraker-polarcloud (the Polar Cloud bridge) for one Klipper printer.
Run it as the user Klipper and Moonraker run as, not as root; it uses sudo for
apt-get (ffmpeg), the systemd unit and systemctl. Safe to run again.

  --data-dir DIR   the printer_data folder (default: ~/printer_data, or the only
                   ~/printer_<name>_data). Several printers: run once per folder;
                   printer_<name>_data gets the service moonraker-polarcloud-<name>
                   and the command polarcloud-<name>
  --no-service     do not install the systemd service (run it yourself)
  --no-restart     do not restart Moonraker or the service
  -y, --yes        do not ask: add the POLAR_* macros to printer.cfg and let
                   apt-get install ffmpeg without asking
  -h, --help       this text

Undo with uninstall.sh.
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
      --no-service) WITH_SERVICE=0; shift ;;
      --no-restart) RESTART=0; shift ;;
      -y | --yes) ASSUME_YES=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" 2 ;;
    esac
  done
}

node_missing() {
  cat >&2 <<EOF
${PROG}: $1
moonraker-polarcloud needs Node.js ${NODE_MIN_MAJOR}.${NODE_MIN_MINOR} or newer. To get it:
  Raspberry Pi OS / Debian bookworm or trixie:  sudo apt update && sudo apt install nodejs
  older releases (bullseye, buster): install a current Node.js LTS from https://nodejs.org
  (or NodeSource's packages), then run this script again.
EOF
  exit 1
}

check_node() {
  local version major minor
  NODE_BIN="$(command -v node || true)"
  [ -n "${NODE_BIN}" ] || node_missing "Node.js (node) was not found."
  version="$("${NODE_BIN}" --version 2>/dev/null || true)"
  if [[ "${version}" =~ ^v([0-9]+)\.([0-9]+)\. ]]; then
    major=$((10#${BASH_REMATCH[1]}))
    minor=$((10#${BASH_REMATCH[2]}))
  else
    node_missing "could not read the version of ${NODE_BIN} (it said '${version}')."
  fi
  if ((major < NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor < NODE_MIN_MINOR))); then
    node_missing "${NODE_BIN} is Node.js ${version}, which is too old."
  fi
  case "${NODE_BIN}" in /*) ;; *) die "node is on PATH as '${NODE_BIN}'; put it on PATH as an absolute folder" ;; esac
  check_plain_path "node" "${NODE_BIN}"
  report node "${version} (${NODE_BIN})"
}

# [server] port: in moonraker.conf, else Moonraker's default 7125.
read_moonraker_port() {
  local conf="${DATA_DIR}/config/moonraker.conf" found
  [ -f "${conf}" ] || return 0
  found="$(awk '
    /^[[:space:]]*\[/ { in_server = ($0 ~ /^[[:space:]]*\[server\][[:space:]]*([#;].*)?$/); next }
    in_server && /^[[:space:]]*port[[:space:]]*[:=]/ {
      sub(/^[^:=]*[:=][[:space:]]*/, ""); sub(/[[:space:]]*([#;].*)?$/, ""); print; exit
    }' "${conf}")"
  if [ -z "${found}" ]; then
    return 0
  elif [[ "${found}" =~ ^[0-9]{1,5}$ ]] && ((10#${found} >= 1 && 10#${found} <= 65535)); then
    PORT=$((10#${found}))
  else
    say "  (moonraker.conf: [server] port '${found}' is not a port number; using ${PORT})"
  fi
}

preflight() {
  refuse_root
  [ -f "${REPO_DIR}/dist/polarcloud.mjs" ] || die "${REPO_DIR}/dist/polarcloud.mjs is missing: run this script from a complete moonraker-polarcloud checkout"
  check_plain_path "the moonraker-polarcloud folder" "${REPO_DIR}"
  find_data_dir
  USER_NAME="${USER:-$(id -un)}"
  CONFIG_FILE="${DATA_DIR}/config/polarcloud.yaml"
  ENV_FILE="${DATA_DIR}/systemd/${ENV_NAME}"
  LOG_FILE="${DATA_DIR}/logs/${LOG_NAME}"
  # One service per printer_data folder: never take over another printer's unit.
  local other
  other="$(unit_env_file "${UNIT_FILE}")"
  if [ "${WITH_SERVICE}" = 1 ] && [ -n "${other}" ] && [ "${other}" != "${ENV_FILE}" ]; then
    die "${UNIT_FILE} already serves another printer (EnvironmentFile=${other}). Rename this folder printer_<name>_data (KIAUH's naming) so it gets its own service, or run uninstall.sh --data-dir for that printer first."
  fi
  if [ "${WITH_SERVICE}" = 1 ] && ! command -v systemctl >/dev/null 2>&1; then
    die "systemctl not found: this host does not run systemd; use --no-service and start the bridge yourself"
  fi
  read_moonraker_port
  say "Installing moonraker-polarcloud"
  report "printer_data" "${DATA_DIR} (user ${USER_NAME}, Moonraker on port ${PORT})"
  report "instance" "${SERVICE} (command: $(basename "${WRAPPER}"))"
  check_node
}

install_ffmpeg() {
  local yes=()
  if command -v ffmpeg >/dev/null 2>&1; then
    report ffmpeg "already installed"
    return
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    report ffmpeg "not found and no apt-get here: install ffmpeg yourself (camera images and timelapses need it)"
    return
  fi
  [ "${ASSUME_YES}" = 1 ] && yes=(-y)
  report ffmpeg "installing: sudo apt-get install ffmpeg"
  if sudo apt-get update -qq && sudo apt-get install "${yes[@]}" ffmpeg && hash -r && command -v ffmpeg >/dev/null 2>&1; then
    report ffmpeg "installed"
  else
    report ffmpeg "NOT installed (apt-get failed); camera images and timelapses need it: sudo apt install ffmpeg"
  fi
}

make_data_dir() {
  local dir="${DATA_DIR}/polarcloud" mode
  [ -d "${DATA_DIR}/logs" ] || mkdir -p "${DATA_DIR}/logs"
  if [ -d "${dir}" ]; then
    mode="$(stat -c %a "${dir}")"
    if [ "${mode}" = 700 ]; then
      report "data folder" "already installed (${dir})"
    else
      chmod 0700 "${dir}"
      report "data folder" "${dir}: mode ${mode} changed to 0700"
    fi
  else
    mkdir -m 0700 "${dir}"
    report "data folder" "created ${dir} (mode 0700)"
  fi
}

write_config() {
  local t
  if [ -e "${CONFIG_FILE}" ]; then
    report config "already installed (${CONFIG_FILE}, left as it is)"
    return
  fi
  t="$(<"${INSTALL_DIR}/polarcloud.yaml.template")"
  # Quoted replacements: bash 5.2 would otherwise read & in them as the match.
  t="${t//@DATA_DIR@/"'${DATA_DIR}/polarcloud'"}"
  t="${t//@MOONRAKER_URL@/"'http://127.0.0.1:${PORT}'"}"
  t="${t//@LOG_FILE@/"'${LOG_FILE}'"}"
  t="${t//@CONFIG_FILE@/"${CONFIG_FILE}"}"
  t="${t//@REPO@/"${REPO_DIR}"}"
  t="${t//@SERVICE@/"${SERVICE}"}"
  t="${t//@COMMAND@/"$(basename "${WRAPPER}")"}"
  write_new_file "${CONFIG_FILE}" "${t}"
  SERVICE_CHANGED=1
  report config "wrote ${CONFIG_FILE}"
}

write_env_file() {
  if [ -e "${ENV_FILE}" ]; then
    report "service args" "already installed (${ENV_FILE})"
    return
  fi
  mkdir -p "${DATA_DIR}/systemd"
  write_new_file "${ENV_FILE}" "# Arguments of the moonraker-polarcloud service (written by install.sh, never overwritten).
POLARCLOUD_ARGS=\"run --config ${CONFIG_FILE}\""
  SERVICE_CHANGED=1
  report "service args" "wrote ${ENV_FILE}"
}

# True when FILE is byte-identical to a committed version of the shipped
# macros, i.e. an older copy the user never edited.
is_stock_macros() {
  local blob
  command -v git >/dev/null 2>&1 || return 1
  blob="$(git -C "${REPO_DIR}" hash-object --no-filters -- "$1" 2>/dev/null)" || return 1
  git -C "${REPO_DIR}" log --format= --raw --no-abbrev -- "${MACROS_REL}" 2>/dev/null |
    awk -v b="${blob}" '$3 == b || $4 == b { found = 1 } END { exit !found }'
}

install_macros() {
  local src="${INSTALL_DIR}/polarcloud_macros.cfg" dst="${DATA_DIR}/config/polarcloud_macros.cfg"
  if [ ! -e "${dst}" ]; then
    copy_new_file "${src}" "${dst}"
    report macros "wrote ${dst}"
  elif cmp -s "${src}" "${dst}"; then
    report macros "already installed (${dst})"
  elif is_stock_macros "${dst}"; then
    copy_new_file "${src}" "${dst}"
    report macros "updated ${dst} to this version"
  else
    report macros "kept ${dst}: you changed it (this version is ${src})"
  fi
}

add_include() {
  local cfg="${DATA_DIR}/config/printer.cfg"
  if [ ! -f "${cfg}" ]; then
    report printer.cfg "not found: add [include polarcloud_macros.cfg] to your Klipper config for the POLAR_* macros"
    return
  fi
  if grep -Eq '^[[:space:]]*\[[[:space:]]*include[[:space:]]+polarcloud_macros\.cfg[[:space:]]*\]' "${cfg}"; then
    MACROS_ACTIVE=1
    report printer.cfg "already installed ([include polarcloud_macros.cfg])"
    return
  fi
  if [ "${ASSUME_YES}" != 1 ]; then
    if [ ! -t 0 ]; then
      report printer.cfg "not changed: run again with -y, or add [include polarcloud_macros.cfg] yourself"
      return
    fi
    if ! ask "Add [include polarcloud_macros.cfg] to ${cfg} (POLAR_* console macros)?" y; then
      report printer.cfg "not changed: add [include polarcloud_macros.cfg] yourself for the POLAR_* macros"
      return
    fi
  fi
  # Above Klipper's SAVE_CONFIG section, which has to stay at the end.
  scratch_for "${cfg}"
  awk -v line="${INCLUDE_LINE}" -v save="${SAVE_CONFIG_PREFIX}" '
    !done && index($0, save) == 1 { print line; done = 1 }
    { print }
    END { if (!done) print line }' "${cfg}" >"${SCRATCH_FILE}"
  replace_if_changed "${cfg}" "${SCRATCH_FILE}" || true
  INCLUDE_ADDED=1
  MACROS_ACTIVE=1
  report printer.cfg "added [include polarcloud_macros.cfg]"
}

allow_service() {
  local asvc="${DATA_DIR}/moonraker.asvc"
  if [ -f "${asvc}" ] && grep -Eq "^[[:space:]]*${SERVICE}(\\.service)?[[:space:]]*\$" "${asvc}"; then
    report moonraker.asvc "already installed (${SERVICE})"
    return
  fi
  if [ -f "${asvc}" ]; then
    append_lines "${asvc}" "${SERVICE}"
    report moonraker.asvc "added ${SERVICE} (Moonraker may restart the service after updates)"
  else
    write_new_file "${asvc}" "$(printf '%s\n' "${MOONRAKER_DEFAULT_ASVC[@]}" "${SERVICE}")"
    report moonraker.asvc "created ${asvc} with Moonraker's default services and ${SERVICE}"
  fi
  MOONRAKER_CHANGED=1
}

install_unit() {
  local t
  if [ "${WITH_SERVICE}" != 1 ]; then
    report service "skipped (--no-service)"
    return
  fi
  t="$(<"${INSTALL_DIR}/${BASE_SERVICE}.service.template")"
  t="${t//@SERVICE@/"${SERVICE}"}"
  t="${t//@DATA_DIR@/"${DATA_DIR}"}"
  t="${t//@MOONRAKER_SERVICE@/"${MOONRAKER_SERVICE}"}"
  t="${t//@USER@/"${USER_NAME}"}"
  t="${t//@ENV_FILE@/"${ENV_FILE}"}"
  t="${t//@NODE@/"${NODE_BIN}"}"
  t="${t//@REPO@/"${REPO_DIR}"}"
  t="${t//@DATA_DIR@/"${DATA_DIR}"}"
  t="${t//@CONFIG_FILE@/"${CONFIG_FILE}"}"
  if [ -f "${UNIT_FILE}" ] && [ "$(<"${UNIT_FILE}")" = "${t}" ]; then
    report service "already installed (${UNIT_FILE})"
  else
    scratch_for "${DATA_DIR}/systemd/${SERVICE}.service"
    printf '%s\n' "${t}" >"${SCRATCH_FILE}"
    sudo install -m 0644 "${SCRATCH_FILE}" "${UNIT_FILE}"
    sudo systemctl daemon-reload
    SERVICE_CHANGED=1
    report service "wrote ${UNIT_FILE}"
  fi
  if systemctl is-enabled --quiet "${SERVICE}" 2>/dev/null; then
    report "start at boot" "already enabled"
  else
    sudo systemctl enable "${SERVICE}"
    report "start at boot" "enabled"
  fi
}

restart_services() {
  if [ "${WITH_SERVICE}" = 1 ]; then
    if [ "${RESTART}" != 1 ]; then
      report running "not restarted (--no-restart): sudo systemctl restart ${SERVICE}"
    elif ! systemctl is-active --quiet "${SERVICE}" 2>/dev/null; then
      sudo systemctl restart "${SERVICE}"
      report running "started ${SERVICE}"
    elif [ "${SERVICE_CHANGED}" = 1 ]; then
      sudo systemctl restart "${SERVICE}"
      report running "restarted ${SERVICE} (its unit or settings changed)"
    else
      report running "already running"
    fi
  fi
  if [ "${MOONRAKER_CHANGED}" = 1 ]; then
    if [ "${RESTART}" = 1 ]; then
      # A Moonraker restart does not stop a print: Klipper runs it.
      sudo systemctl restart "${MOONRAKER_SERVICE}"
      report moonraker "restarted ${MOONRAKER_SERVICE} (loads the update_manager entry)"
    else
      report moonraker "not restarted (--no-restart): sudo systemctl restart ${MOONRAKER_SERVICE}"
    fi
  fi
}

summary() {
  local cmd
  cmd="$(basename "${WRAPPER}")"
  case ":${PATH}:" in
    *":${BIN_DIR}:"*) ;;
    *) [ -x "${WRAPPER}" ] && cmd="${WRAPPER}" ;;
  esac
  [ -x "${WRAPPER}" ] || cmd="${NODE_BIN} ${REPO_DIR}/dist/polarcloud.mjs --config ${CONFIG_FILE}"
  say ""
  say "Done."
  say "  service:  ${SERVICE} (systemctl status ${SERVICE})"
  say "  config:   ${CONFIG_FILE}"
  say "  log:      ${LOG_FILE} (and: journalctl -u ${SERVICE})"
  say "  data:     ${DATA_DIR}/polarcloud"
  say "  command:  ${cmd} status"
  if [ "${cmd}" = "${WRAPPER}" ]; then
    say "            (${BIN_DIR} is not on PATH yet: log in again, then just $(basename "${WRAPPER}"))"
  fi
  say "Register this printer with your Polar Cloud account:"
  if [ "${MACROS_ACTIVE}" = 1 ]; then
    say "  in the Mainsail/Fluidd console:  POLAR_REGISTER EMAIL=you@example.org PIN=1234"
    if [ "${INCLUDE_ADDED}" = 1 ]; then
      say "    (restart Klipper once first, with RESTART, so it loads the new macros)"
    fi
    say "  or in a shell (the PIN is read without echo, never put on a command line):"
  else
    say "  in a shell (the PIN is read without echo, never put on a command line):"
  fi
  # Never suggest --pin: a PIN on a command line lands in the shell history and `ps`.
  say "    read -rsp 'Polar Cloud PIN: ' POLARCLOUD_PIN && export POLARCLOUD_PIN && ${cmd} register --email you@example.org"
  if [ "${MACROS_ACTIVE}" != 1 ]; then
    say "  (the POLAR_* console macros need [include polarcloud_macros.cfg] in printer.cfg: run install.sh -y, or add it yourself)"
  fi
  if [ "${WITH_SERVICE}" != 1 ]; then
    say "Without a service, run it yourself:  ${cmd} run"
  fi
}

main() {
  parse_args "$@"
  preflight
  install_ffmpeg
  make_data_dir
  write_config
  write_env_file
  migrate_old_unit
  install_macros
  add_include
  allow_service
  add_update_manager
  install_unit
  install_wrapper
  restart_services
  summary
}

main "$@"
