#!/usr/bin/env bash
# The container tools and their settings for this machine (decision 0150), for scripts/images/build.sh
# (test/support/images.ts passes podman the same settings). Sourced with $cache and log() set.
set -euo pipefail

IMAGE_TOOLS=(buildah podman skopeo debootstrap runc)

ensure_tools() {
  local missing=() tool
  for tool in "${IMAGE_TOOLS[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" != 0 ]; then
    echo "images: missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    {
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    }
}

# runc, not crun: crun refuses this machine's hybrid cgroups. Explicit ulimits no higher than this
# process's hard limits: podman's default (1048576 open files) fails with EPERM without CAP_SYS_RESOURCE.
use_engine_settings() {
  local nofile nproc conf="$cache/containers.conf"
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ] && nofile=1048576
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n[engine]\nruntime = "runc"\n' \
    "$nofile" "$nofile" "$nproc" "$nproc" >"$conf.tmp"
  mv "$conf.tmp" "$conf"
  export CONTAINERS_CONF="$conf" BUILDAH_RUNTIME=runc
}
