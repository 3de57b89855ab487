# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this file
# Shared by install.sh and uninstall.sh (sourced, never run): names, markers,
# finding the printer_data folder, and small file helpers. Everything install.sh
# adds to a file the user owns is marked, so uninstall.sh can take out exactly
# that and leave the user's own lines byte for byte as they were.

# One instance per printer_data folder, named the way KIAUH names Klipper and
# Moonraker: printer_data -> moonraker-polarcloud, printer_<name>_data ->
# moonraker-polarcloud-<name> (printer_2_data -> moonraker-polarcloud-2).
# find_data_dir sets SERVICE, UNIT_FILE and WRAPPER for the chosen folder.
BASE_SERVICE=moonraker-polarcloud
SERVICE="${BASE_SERVICE}"
# The unit goes to /etc/systemd/system. POLARCLOUD_SYSTEMD_DIR moves it (the
# tests point it into a scratch folder; a system with another unit path can too).
SYSTEMD_DIR="${POLARCLOUD_SYSTEMD_DIR:-/etc/systemd/system}"
UNIT_FILE=""
# The `polarcloud` command for this printer (polarcloud-<name> for the others).
BIN_DIR="${HOME}/.local/bin"
WRAPPER=""
WRAPPER_MARK="# moonraker-polarcloud command (managed by install.sh)"
# Inside each printer_data folder the file names are the same for every instance.
ENV_NAME="${BASE_SERVICE}.env"
LOG_NAME="${BASE_SERVICE}.log"

# moonraker.conf: one block, appended after a blank line.
UM_BEGIN="# >>> moonraker-polarcloud (managed by install.sh)"
UM_END="# <<< moonraker-polarcloud"
# printer.cfg: one line. Klipper strips the trailing comment before it looks
# for [include ...], so the marker costs nothing.
INCLUDE_LINE="[include polarcloud_macros.cfg] # moonraker-polarcloud (managed by install.sh)"
# The line Klipper writes before its SAVE_CONFIG section, which must stay last.
SAVE_CONFIG_PREFIX="#*# <---------------------- SAVE_CONFIG"

ASSUME_YES=0
DATA_DIR=""
MOONRAKER_SERVICE=""

say() { printf '%s\n' "$*"; }
# One line per step: "  step          what happened".
report() { printf '  %-15s %s\n' "$1" "$2"; }
die() {
  printf '%s: %s\n' "${PROG}" "$1" >&2
  exit "${2:-1}"
}

refuse_root() {
  if [ "$(id -u)" = 0 ]; then
    die "do not run this as root or with sudo. Run it as the user Klipper and Moonraker run as (for example pi); it asks for sudo itself where it needs it."
  fi
}

# Paths end up in a systemd unit and an EnvironmentFile, where spaces split
# words and %, $, quotes and backslashes mean something; refuse them up front.
check_plain_path() {
  case "$2" in
    *[[:space:]]* | *[\"\'\\\$%\`]*)
      die "$1 '$2' contains a space, quote, backslash, \$ or %; use a path without them"
      ;;
  esac
}

# Finds <printer_data>: --data-dir, else ~/printer_data, else the only
# ~/printer_<name>_data. Sets DATA_DIR (absolute) and MOONRAKER_SERVICE.
find_data_dir() {
  local candidates=() d
  if [ -n "${DATA_DIR}" ]; then
    [ -d "${DATA_DIR}" ] || die "--data-dir ${DATA_DIR}: no such folder"
    DATA_DIR="$(cd "${DATA_DIR}" && pwd)"
  elif [ -d "${HOME}/printer_data" ]; then
    DATA_DIR="${HOME}/printer_data"
  else
    for d in "${HOME}"/printer_*_data; do
      [ -d "${d}" ] && candidates+=("${d}")
    done
    case "${#candidates[@]}" in
      0) die "no printer_data folder found in ${HOME}; name it with --data-dir DIR" ;;
      1) DATA_DIR="${candidates[0]}" ;;
      *) die "several printer_data folders found: ${candidates[*]}; choose one with --data-dir DIR" ;;
    esac
  fi
  [ -d "${DATA_DIR}/config" ] || die "${DATA_DIR} has no config/ folder: is it a printer_data folder? (choose one with --data-dir DIR)"
  check_plain_path "printer_data folder" "${DATA_DIR}"
  # KIAUH names the services of printer_<name>_data "moonraker-<name>".
  local instance=""
  case "$(basename "${DATA_DIR}")" in
    printer_*_data)
      instance="$(basename "${DATA_DIR}")"
      instance="${instance#printer_}"
      instance="${instance%_data}"
      ;;
  esac
  if [ -n "${instance}" ] && ! [[ "${instance}" =~ ^[A-Za-z0-9_-]{1,64}$ ]]; then
    die "$(basename "${DATA_DIR}"): the part between printer_ and _data may use letters, digits, - and _ only"
  fi
  if [ -z "${MOONRAKER_SERVICE}" ]; then
    MOONRAKER_SERVICE=moonraker${instance:+-${instance}}
  fi
  SERVICE="${BASE_SERVICE}${instance:+-${instance}}"
  UNIT_FILE="${SYSTEMD_DIR}/${SERVICE}.service"
  WRAPPER="${BIN_DIR}/polarcloud${instance:+-${instance}}"
}

# Yes/no question. Answers the default when stdin is not a terminal.
ask() {
  local question="$1" default="$2" answer hint="[y/N]"
  [ "${default}" = y ] && hint="[Y/n]"
  if [ ! -t 0 ]; then
    [ "${default}" = y ]
    return
  fi
  read -r -p "${question} ${hint} " answer || answer=""
  case "${answer:-${default}}" in
    [Yy]*) return 0 ;;
    *) return 1 ;;
  esac
}

# Replaces FILE's content with TMP's (TMP is consumed) when they differ, keeping
# FILE's mode; follows a symlinked FILE (some setups link printer.cfg) and
# replaces its target atomically. Returns 1 when nothing changed.
replace_if_changed() {
  local file="$1" tmp="$2" target
  if cmp -s "${tmp}" "${file}"; then
    rm -f "${tmp}"
    return 1
  fi
  target="$(readlink -f "${file}")"
  chmod --reference="${target}" "${tmp}"
  mv -f "${tmp}" "${target}"
}

# Sets SCRATCH_FILE to a new file next to FILE (same filesystem, so mv is
# atomic); whatever is left of it is removed on exit.
SCRATCH=()
SCRATCH_FILE=""
scratch_for() {
  SCRATCH_FILE="$(mktemp "$(dirname "$(readlink -f "$1")")/.$(basename "$1").XXXXXX")"
  SCRATCH+=("${SCRATCH_FILE}")
}
cleanup_scratch() {
  local t
  for t in "${SCRATCH[@]}"; do rm -f "${t}"; done
}
trap cleanup_scratch EXIT

# Writes CONTENT and a newline to FILE (mode 0644) through a scratch file and a rename.
write_new_file() {
  scratch_for "$1"
  printf '%s\n' "$2" >"${SCRATCH_FILE}"
  chmod 0644 "${SCRATCH_FILE}"
  mv -f "${SCRATCH_FILE}" "$1"
}

# Copies SRC to FILE (mode 0644) the same way.
copy_new_file() {
  scratch_for "$2"
  cat "$1" >"${SCRATCH_FILE}"
  chmod 0644 "${SCRATCH_FILE}"
  mv -f "${SCRATCH_FILE}" "$2"
}

# Appends to FILE, first ending its last line if it has no newline.
append_lines() {
  local file="$1"
  shift
  if [ -s "${file}" ] && [ -n "$(tail -c 1 "${file}")" ]; then
    printf '\n' >>"${file}"
  fi
  printf '%s\n' "$@" >>"${file}"
}

# The EnvironmentFile= line of an installed unit (UNIT_FILE, or the one named; "" if none).
unit_env_file() {
  local unit="${1:-${UNIT_FILE}}"
  [ -f "${unit}" ] || return 0
  sed -n '/^EnvironmentFile=/{s/^EnvironmentFile=-\{0,1\}//p;q;}' "${unit}"
}

# True when the wrapper file was written by install.sh for this printer_data folder.
wrapper_is_ours() {
  [ -f "${WRAPPER}" ] && grep -qxF "${WRAPPER_MARK}" "${WRAPPER}" && grep -qF -- "--config ${DATA_DIR}/config/polarcloud.yaml " "${WRAPPER}"
}
