# shellcheck shell=bash
# Sourced by up.sh and containerd.sh: installs the Debian packages that are
# missing, without letting their own services (dockerd, sshd on :22, the
# registry on :5000, containerd) start.

install_missing() { # PACKAGE...
  local pkg missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  printf '[berth-test] installing %s\n' "${missing[*]}" >&2
  # Only when no policy is in place already.
  local policy=/usr/sbin/policy-rc.d own_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
  [[ -z $own_policy ]] || rm -f "$policy"
}
