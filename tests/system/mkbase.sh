#!/bin/bash
# mkbase.sh BASE - the one debootstrap of a `make check` run: a minimal
# Debian 12 (minbase) with make and git and nothing else, the machine's own
# apt sources and proxy (host-apt.sh). The fresh suite copies it to run
# `make run` from nothing; the system suite copies it and adds a kernel,
# systemd and libvirtd (mkroot.sh).
#
# Made once per build directory: BASE.done marks a finished one, so a
# local rerun reuses it, while CI (a clean clone) always starts cold.
# A debootstrap or apt failure is a failure, never a skip.
set -euo pipefail

BASE=${1:?usage: mkbase.sh BASE}
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$(dirname "$BASE")"
exec 9>"$BASE.lock"
flock 9
[ -e "$BASE.done" ] && [ -d "$BASE/usr" ] && exit 0

mirror=$("$here/host-apt.sh" mirror)
proxy=$("$here/host-apt.sh" proxy)
rm -rf "$BASE" "$BASE.done"
mkdir -p "$BASE"
t0=$(date +%s)
if ! env ${proxy:+http_proxy="$proxy"} debootstrap --variant=minbase --include=make,git \
	bookworm "$BASE" "$mirror" >"$BASE.debootstrap.log" 2>&1; then
	tail -20 "$BASE.debootstrap.log" >&2
	echo "mkbase.sh: debootstrap from $mirror failed (log: $BASE.debootstrap.log)" >&2
	exit 1
fi
"$here/host-apt.sh" install "$BASE"
"$here/in-root.sh" "$BASE" apt-get clean
echo "# mkbase: Debian 12 minbase + make, git from $mirror in $(($(date +%s) - t0)) s"
touch "$BASE.done"
