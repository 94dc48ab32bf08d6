#!/bin/sh
# Installs every build, test and demo dependency from Debian packages (idempotent).
set -eu

# libzstd-dev: restore drills check .zst archives end to end (persistencectl restore-test).
# chromium: the headless screenshot test of the status page (tests/integration/test_inventory.py).
# victoria-metrics: persistencectl report asked of a Prometheus-compatible backend (tests/integration/test_report.py).
# libfaketime: moves the exporter's wall clock in the record-and-replay test (tests/rules/replay.py).
# debhelper, lintian: `make deb`; debootstrap, debian-archive-keyring, iproute2, util-linux:
# the install test (tests/deb); systemd: systemd-analyze; man-db: the man-page check (make lint).
PKGS="build-essential pkg-config gcc clang make git curl ca-certificates openssl
libmicrohttpd-dev libcurl4-openssl-dev libssl-dev libcjson-dev libyaml-dev check zlib1g-dev
libcrypt-dev libgnutls28-dev libzstd-dev libfuse3-dev fuse3 python3 python3-yaml prometheus prometheus-alertmanager
clang-format valgrind procps psmisc jq chromium libfaketime victoria-metrics
debhelper lintian debootstrap debian-archive-keyring iproute2 util-linux systemd man-db"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root or install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# --no-install-recommends keeps the prometheus packages from pulling in a whole desktop
apt-get install -y -q --no-install-recommends $missing
# Debian starts the packaged services on install; the tests run their own copies.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics; do
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	fi
done
