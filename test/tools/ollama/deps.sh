#!/bin/sh
# Installs the Debian headers the Ollama build needs (the module zip drops
# llama.cpp's vendor directory). Idempotent: apt-get runs only when a package
# is missing. miniaudio has no Debian package; our stub lives in include/.
set -eu
pkgs="nlohmann-json3-dev libstb-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
