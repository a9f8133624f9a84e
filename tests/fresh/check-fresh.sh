#!/bin/bash
# check-fresh.sh BUILD - a new user's first run (`make check-fresh`): in a
# minimal Debian 12 root holding only minbase, make and git (the run's one
# debootstrap, shared with the system suite: tests/system/mkbase.sh), a
# clean `git clone` of the tree, and as root inside it:
#  1. `make run` from nothing: it installs what it needs and walks a VM
#     through its life;
#  2. cvmd from the build tree, started without --vmm, takes a VM to
#     secure: `cvmctl --json show` must say so;
#  3. `make all` (after installing the test and kbuild groups) builds every
#     binary `make check` builds, and cvm.ko against the root's own headers.
# The tree's dependency lists are all a fresh machine gets: a package they
# miss fails here. A debootstrap or apt failure is a failure, never a skip.
set -uo pipefail
BUILD=$(cd "${1:?usage: check-fresh.sh BUILD}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
FRESH=$BUILD/fresh
ROOT=$FRESH/root
in_root() { "$top/tests/system/in-root.sh" "$ROOT" "$@"; }
. "$top/tests/tap.sh" # ok, not_ok, step; failures
finish() {
	echo "# check-fresh: $((SECONDS - start)) s in all"
	exit $((failures > 0))
}
start=$SECONDS

rm -rf "$FRESH"
mkdir -p "$FRESH"
step "the run's Debian 12 minbase + make, git (debootstrap, shared with check-system)" \
	"$FRESH/mkbase.log" "$top/tests/system/mkbase.sh" "$BUILD/roots/base" || finish
cp -a "$BUILD/roots/base" "$ROOT"

# Nothing but the base: no compiler, no library of the project's.
for tool in gcc cc protoc-c pkg-config; do
	if in_root sh -c "command -v $tool" >/dev/null 2>&1; then
		not_ok "the fresh root already has $tool: it is not fresh"
	fi
done
step "a clean git clone of the tree in the root" "$FRESH/clone.log" \
	git clone --quiet --no-hardlinks "$top" "$ROOT/root/cvm" || finish
echo "# the tree at $(git -C "$ROOT/root/cvm" log -1 --format='%h %s')"

# 1. make run from nothing.
step "make run in the fresh root, from nothing" "$FRESH/run.log" \
	in_root sh -c 'cd /root/cvm && make run' || finish
sed 's/^/#   /' "$FRESH/run.log" | grep -E 'installing|guest reads:' || true
if grep -q 'after page-out: .*host reads: [0-9a-f]\{24\}\.\.\. (hex)' "$FRESH/run.log"; then
	ok "make run: the host reads a paged-out page as ciphertext, shown in hex"
else
	not_ok "make run: no hex ciphertext on the host's side after page-out"
fi
if LC_ALL=C grep -qP '[^\x20-\x7e\x1b\t]' "$FRESH/run.log"; then
	not_ok "make run printed bytes that are not text:"
	LC_ALL=C grep -nP '[^\x20-\x7e\x1b\t]' "$FRESH/run.log" | head -3 | od -c | sed 's/^/#   /'
else
	ok "make run printed nothing but text"
fi

# 2. A VM taken to secure by the build tree's cvmd, which finds its VMM.
step "cvmd from the build tree (no --vmm) takes a VM to secure" "$FRESH/secure.log" \
	in_root /root/cvm/tests/fresh/vm-secure.sh /root/cvm/build || finish
# The VM's own "state" comes first in its JSON document.
state=$(grep -o '"state": *"[a-z_]*"' "$FRESH/secure.log" | head -1 | sed -E 's/.*"([a-z_]*)"$/\1/')
if [ "$state" = secure ]; then
	ok "cvmctl --json show in the fresh root: state secure"
else
	not_ok "cvmctl --json show in the fresh root: state '$state', not secure"
	sed 's/^/#   /' "$FRESH/secure.log"
fi

# 3. make all: every binary make check builds, cvm.ko for the root's kernel.
step "install-deps.sh test kbuild in the fresh root" "$FRESH/deps.log" \
	in_root sh -c 'cd /root/cvm && packaging/install-deps.sh test kbuild' || finish
step "make all in the fresh root" "$FRESH/all.log" \
	in_root sh -c 'cd /root/cvm && make all' || finish
if in_root sh -c 'cd /root/cvm && make -q all'; then
	ok "make all left nothing to build (make -q all)"
else
	not_ok "make -q all: something make check builds was not built"
fi
# Nothing that ran in the root may outlive its command (no PID namespace:
# a leftover would live on on the build machine).
left=
for proc in /proc/[0-9]*; do
	[ "$(readlink "$proc/root" 2>/dev/null)" = "$ROOT" ] && left="$left ${proc#/proc/}:$(cat "$proc/comm")"
done
if [ -z "$left" ]; then
	ok "no process left running in the fresh root"
else
	not_ok "processes left running in the fresh root:$left"
fi
kver=$(in_root /root/cvm/tests/vm/kver.sh --headers 2>&1)
magic=$(grep -ao 'vermagic=[^ ]*' "$ROOT/root/cvm/build/kmod/cvm.ko" 2>/dev/null | head -1)
if [ -n "$kver" ] && [ "$magic" = "vermagic=$kver" ]; then
	ok "cvm.ko built against the root's own headers ($kver)"
else
	not_ok "cvm.ko's $magic is not the root's kernel '$kver'"
fi
finish
