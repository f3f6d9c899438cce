#!/bin/sh
# Installs the Debian packages qinglang needs to build, test and benchmark,
# only those that are missing.  Safe to run again; does nothing when all are
# present.  Run as root (CI and the development machines are).
set -eu

# The multi-pattern matcher: Intel's Hyperscan where Debian has it (amd64),
# Vectorscan elsewhere.  Debian 12's Vectorscan 5.4.9 loses matches on
# AVX-512 machines depending on buffer alignment (docs/engine.md); the two
# packages provide the same libhs API and conflict, so the other is removed.
case "$(dpkg --print-architecture 2>/dev/null)" in
amd64) MATCHER=libhyperscan-dev; OTHER=libvectorscan-dev ;;
*)     MATCHER=libvectorscan-dev; OTHER=libhyperscan-dev ;;
esac

PACKAGES="build-essential cmake pkg-config
$MATCHER libpcre2-dev libyaml-dev libcmocka-dev libssl-dev libsqlite3-dev
ripgrep python3 python3-yaml libmicrohttpd-dev libjansson-dev curl
libcurl4-openssl-dev libutf8proc-dev unicode-data opencc wamerican"

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
remove=""
if dpkg-query -W -f='${Status}' "$OTHER" 2>/dev/null | grep -q "install ok installed"; then
    remove="$OTHER-"
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing $remove >/dev/null
