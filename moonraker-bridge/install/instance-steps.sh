# shellcheck shell=bash disable=SC2034 # MOONRAKER_CHANGED and friends belong to install.sh
# install.sh's steps that depend on the printer instance (sourced by install.sh,
# never run): the [update_manager] block in this folder's moonraker.conf, moving
# an install from before instances had names, and the polarcloud command.
# They use install.sh's variables (DATA_DIR, SERVICE, WRAPPER, NODE_BIN, ...).

# The update_manager entry goes into moonraker.conf as one marked block (rather
# than a separate file and an [include]), so there is exactly one place to look
# and uninstall.sh removes it by its markers.
#
# Each printer's Moonraker reads only its own moonraker.conf, so every instance
# has the same section name (the bridge looks its version up by it) and names
# its own service in managed_services.
add_update_manager() {
  local conf="${DATA_DIR}/config/moonraker.conf" origin block
  if [ ! -f "${conf}" ]; then
    report update_manager "skipped: ${conf} not found"
    return
  fi
  # Moonraker refuses a duplicate section, so leave a hand-written one alone.
  if ! grep -qxF "${UM_BEGIN}" "${conf}" && grep -Eq "^[[:space:]]*\\[update_manager[[:space:]]+${BASE_SERVICE}[[:space:]]*\\]" "${conf}"; then
    report update_manager "already in ${conf} (written by hand; left as it is)"
    return
  fi
  if ! git -C "${REPO_DIR}" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    report update_manager "skipped: ${REPO_DIR} is not a git checkout, so Moonraker cannot update it"
    return
  fi
  origin="$(git -C "${REPO_DIR}" remote get-url origin 2>/dev/null || true)"
  origin="${origin:-${DEFAULT_ORIGIN}}"
  block="$(printf '%s\n' \
    "${UM_BEGIN}" \
    "# Lets Moonraker update moonraker-polarcloud and restart it; uninstall.sh removes this block." \
    "[update_manager ${BASE_SERVICE}]" \
    "type: git_repo" \
    "path: ${REPO_DIR}" \
    "origin: ${origin}" \
    "primary_branch: main" \
    "managed_services: ${SERVICE}" \
    "system_dependencies: moonraker-bridge/install/system-dependencies.json" \
    "info_tags:" \
    "  desc=Polar Cloud bridge" \
    "${UM_END}")"
  if grep -qxF "${UM_BEGIN}" "${conf}"; then
    if [ "$(awk -v begin="${UM_BEGIN}" -v end="${UM_END}" '$0 == begin { p = 1 } p { print } $0 == end { p = 0 }' "${conf}")" = "${block}" ]; then
      report update_manager "already installed (${conf})"
      return
    fi
    # An older block (another service name or path): replace it where it is.
    scratch_for "${conf}"
    BLOCK="${block}" awk -v begin="${UM_BEGIN}" -v end="${UM_END}" '
      skipping { if ($0 == end) skipping = 0; next }
      $0 == begin { print ENVIRON["BLOCK"]; skipping = 1; next }
      { print }' "${conf}" >"${SCRATCH_FILE}"
    replace_if_changed "${conf}" "${SCRATCH_FILE}" || true
    MOONRAKER_CHANGED=1
    report update_manager "updated [update_manager ${BASE_SERVICE}] in ${conf} (managed_services: ${SERVICE})"
    return
  fi
  append_lines "${conf}" "" "${block}"
  MOONRAKER_CHANGED=1
  report update_manager "added [update_manager ${BASE_SERVICE}] to ${conf} (managed_services: ${SERVICE})"
}

# A printer_<name>_data folder installed before instances had names ran as
# "moonraker-polarcloud": move it to its own name (same data folder, same serial).
migrate_old_unit() {
  local old_unit="${SYSTEMD_DIR}/${BASE_SERVICE}.service" asvc="${DATA_DIR}/moonraker.asvc"
  [ "${SERVICE}" != "${BASE_SERVICE}" ] || return 0
  [ "${WITH_SERVICE}" = 1 ] || return 0
  [ -f "${old_unit}" ] && [ "$(unit_env_file "${old_unit}")" = "${ENV_FILE}" ] || return 0
  sudo systemctl disable --now "${BASE_SERVICE}"
  sudo rm -f "${old_unit}"
  sudo systemctl daemon-reload
  if [ -f "${asvc}" ]; then
    scratch_for "${asvc}"
    awk -v svc="${BASE_SERVICE}" '{ line = $0; gsub(/^[[:space:]]+|[[:space:]]+$/, "", line) }
      line != svc && line != svc ".service" { print }' "${asvc}" >"${SCRATCH_FILE}"
    replace_if_changed "${asvc}" "${SCRATCH_FILE}" && MOONRAKER_CHANGED=1
  fi
  report migrated "${BASE_SERVICE} served this folder: renamed to ${SERVICE}"
}

# ~/.local/bin/polarcloud (polarcloud-<name>): the CLI with this printer's config.
# Raspberry Pi OS puts ~/.local/bin on PATH at login once the folder exists.
install_wrapper() {
  local t
  t="$(printf '%s\n' \
    "#!/usr/bin/env bash" \
    "${WRAPPER_MARK}" \
    "# The polarcloud command for ${DATA_DIR}; uninstall.sh removes it." \
    "exec ${NODE_BIN} ${REPO_DIR}/dist/polarcloud.mjs --config ${DATA_DIR}/config/polarcloud.yaml \"\$@\"")"
  if [ -f "${WRAPPER}" ] && [ "$(<"${WRAPPER}")" = "${t}" ]; then
    report command "already installed (${WRAPPER})"
    return
  fi
  if [ -e "${WRAPPER}" ] && ! grep -qxF "${WRAPPER_MARK}" "${WRAPPER}"; then
    report command "not written: ${WRAPPER} exists and is not ours; use ${NODE_BIN} ${REPO_DIR}/dist/polarcloud.mjs --config ${CONFIG_FILE}"
    return
  fi
  mkdir -p "${BIN_DIR}"
  write_new_file "${WRAPPER}" "${t}"
  chmod 0755 "${WRAPPER}"
  report command "wrote ${WRAPPER}"
}
