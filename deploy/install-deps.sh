#!/bin/sh
# Installs the Debian packages ackbot needs to build and test, only those that are missing.
# Usage: deploy/install-deps.sh [build|test|all]   (run as root; does nothing when all are there)
set -eu

BUILD="make gcc pkg-config libwebsockets-dev libwebsockets-evlib-uv libcurl4-openssl-dev
libjansson-dev libpcre2-dev libsqlite3-dev libuv1-dev libyaml-dev libutf8proc-dev libssl-dev
liblinear-dev libcld2-dev libedit-dev"
TEST="python3 sqlite3 procps"

case "${1:-build}" in
build) want="$BUILD" ;;
test|all) want="$BUILD $TEST" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "ackbot: missing Debian packages:$missing" >&2
	echo "  hint: run 'sudo $0 ${1:-build}' or install them with apt-get" >&2
	exit 1
fi
echo "ackbot: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
