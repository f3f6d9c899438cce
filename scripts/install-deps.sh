#!/bin/sh
# Installs the Debian packages qinglang needs to build, test and benchmark,
# only those that are missing.  Safe to run again; does nothing when all are
# present.  Run as root (CI and the development machines are).
set -eu

PACKAGES="build-essential cmake pkg-config
libvectorscan-dev libpcre2-dev libyaml-dev libcmocka-dev
ripgrep python3"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
