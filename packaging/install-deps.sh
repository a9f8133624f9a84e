#!/usr/bin/env bash
# Install the Debian packages that building and testing cvm need, and only
# those that are missing. Idempotent and silent when nothing is missing.
#
#   packaging/install-deps.sh [GROUP...]
#
# The list lives in one place: Build-Depends of packaging/debian/control.
# What building needs has no build profile; what only the tests need is
# marked with one profile per test group (pkg.cvm.GROUP). No GROUP: what
# building needs (`make run`). GROUPs: test kbuild vm libvirt system, or
# all. apt-get reads the declarations itself (`apt-get build-dep -P`).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
control=$here/debian/control
known="test kbuild vm libvirt system"

profiles=
for group in "$@"; do
	if [ "$group" = all ]; then
		set -- $known
		profiles=
		break
	fi
done
for group in "$@"; do
	case " $known " in
	*" $group "*) profiles=${profiles:+$profiles,}pkg.cvm.$group ;;
	*) echo "install-deps: unknown group '$group' (known: $known all)" >&2; exit 2 ;;
	esac
done

# dpkg-checkbuilddeps (dpkg-dev) evaluates the profiles exactly as apt does;
# before it is installed, apt answers the same question.
if command -v dpkg-checkbuilddeps >/dev/null &&
	dpkg-checkbuilddeps ${profiles:+-P "$profiles"} "$control" 2>/dev/null; then
	exit 0
fi

if ((EUID != 0)); then
	echo "install-deps: missing packages, run as root to install them:" >&2
	dpkg-checkbuilddeps ${profiles:+-P "$profiles"} "$control" >&2 || true
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing the build dependencies${profiles:+ for profiles $profiles}"
apt-get update -qq
# build-dep takes a directory holding debian/control: packaging/.
apt-get build-dep -y -qq --no-install-recommends ${profiles:+-P "$profiles"} "$here" >/dev/null
