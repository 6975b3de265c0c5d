#!/bin/sh
# Installs Chromium for the web front end's browser tests (portal/web).
# Idempotent: apt-get runs only when the package is missing. The tests
# never download a browser of their own; they use this one (or CHROMIUM_PATH).
set -eu
if dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
	exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
