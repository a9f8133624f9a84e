#!/bin/bash
# deps-lists.sh [CONTROL SPEC MAP INSTALLER] - the dependency lists cannot
# drift apart:
#  - every build dependency of packaging/debian/control without a build
#    profile has a line in packaging/rpm/deb-to-rpm.map, and the RPM names
#    reached through that map are exactly the spec's BuildRequires;
#  - every build profile of the control file is a test group that
#    packaging/install-deps.sh knows, and every group it knows is used.
# With no arguments it checks the tree; then it proves it catches drift by
# running itself on copies with one fault each.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

# The Build-Depends entries: "NAME PROFILES" a line (PROFILES "-" if none),
# comments and version/architecture qualifiers dropped.
build_depends() {
	awk '
	/^#/ { next }
	/^[A-Za-z-]+:/ { infield = ($1 == "Build-Depends:"); sub(/^[A-Za-z-]+:/, "") }
	/^[^ \t#]/ && !/^[A-Za-z-]+:/ { infield = 0 }
	infield { buf = buf " " $0 }
	END {
		n = split(buf, entries, ",")
		for (i = 1; i <= n; i++) {
			e = entries[i]
			prof = "-"
			if (match(e, /<[^>]*>/)) prof = substr(e, RSTART + 1, RLENGTH - 2)
			gsub(/\([^)]*\)|\[[^]]*\]|<[^>]*>/, "", e)
			gsub(/[ \t]+/, " ", e); sub(/^ /, "", e); sub(/ $/, "", e)
			sub(/:any$/, "", e)
			if (e != "") print e, prof
		}
	}' "$1"
}

# Check one set of files; print ok/not ok lines; return the failures.
check() {
	local control=$1 spec=$2 map=$3 installer=$4 fails=0 name rpm prof
	local -A mapped=() expected=() actual=() groups=() used=()

	while read -r name rest; do
		rest=${rest%%#*}
		[ -n "$name" ] && [ "${name:0:1}" != "#" ] || continue
		mapped[$name]=$rest
	done <"$map"
	# build-essential is implicit in a Debian build; RPM spells it out.
	while read -r name prof; do
		[ "$prof" = - ] || continue
		if [ -z "${mapped[$name]+set}" ]; then
			echo "not ok - Debian build dependency '$name' has no line in $(basename "$map")"
			fails=$((fails + 1))
			continue
		fi
		for rpm in ${mapped[$name]}; do [ "$rpm" = - ] || expected[$rpm]=1; done
	done < <({ build_depends "$control"; echo "build-essential -"; })
	for name in "${!mapped[@]}"; do
		[ "$name" = build-essential ] && continue
		build_depends "$control" | grep -q "^$name -$" || {
			echo "not ok - $(basename "$map") maps '$name', which control does not build-depend on"
			fails=$((fails + 1))
		}
	done
	while read -r rpm; do actual[$rpm]=1; done < <(sed -nE 's/^BuildRequires:[[:space:]]*([^[:space:]]+).*/\1/p' "$spec")
	for rpm in "${!actual[@]}"; do
		[ -n "${expected[$rpm]+set}" ] || {
			echo "not ok - BuildRequires '$rpm' of the spec is reached from no Debian name in the map"
			fails=$((fails + 1))
		}
	done
	for rpm in "${!expected[@]}"; do
		[ -n "${actual[$rpm]+set}" ] || {
			echo "not ok - the map needs RPM '$rpm', which the spec does not BuildRequire"
			fails=$((fails + 1))
		}
	done

	# The installer's groups against the control file's profiles.
	for name in $(sed -nE 's/^known="([^"]*)"/\1/p' "$installer"); do groups[$name]=1; done
	if ((${#groups[@]} == 0)); then
		echo "not ok - no known=\"...\" group list in $(basename "$installer")"
		fails=$((fails + 1))
	fi
	while read -r name prof; do
		[ "$prof" = - ] && continue
		for p in $prof; do
			p=${p#!}
			if [[ $p == pkg.cvm.* ]] && [ -n "${groups[${p#pkg.cvm.}]+set}" ]; then
				used[${p#pkg.cvm.}]=1
			else
				echo "not ok - '$name' is under profile '$p', which install-deps.sh never activates"
				fails=$((fails + 1))
			fi
		done
	done < <(build_depends "$control")
	for name in "${!groups[@]}"; do
		[ -n "${used[$name]+set}" ] || {
			echo "not ok - install-deps.sh group '$name' has no package in control"
			fails=$((fails + 1))
		}
	done
	return "$fails"
}

if (($# == 4)); then
	check "$@"
	exit
fi

control=$top/packaging/debian/control
spec=$top/packaging/rpm/cvm.spec
map=$top/packaging/rpm/deb-to-rpm.map
installer=$top/packaging/install-deps.sh
status=0
if out=$(check "$control" "$spec" "$map" "$installer"); then
	echo "ok - control's build dependencies, the name map and the spec's BuildRequires agree"
	echo "ok - every build profile in control is an install-deps.sh group, and back"
else
	echo "$out"
	status=1
fi

# The checker must catch each kind of drift.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect_drift() { # DESCRIPTION: the copies in $tmp must fail the check
	if out=$(check "$tmp/control" "$tmp/spec" "$tmp/map" "$tmp/installer"); then
		echo "not ok - drift not caught: $1"
		status=1
	else
		first=${out%%$'\n'*}
		echo "ok - drift caught: $1 (${first#not ok - })"
	fi
}
fresh_copies() {
	cp "$control" "$tmp/control"
	cp "$spec" "$tmp/spec"
	cp "$map" "$tmp/map"
	cp "$installer" "$tmp/installer"
}
fresh_copies
sed -i 's/^\(Build-Depends:.*\)$/\1\n               libfoo-dev,/' "$tmp/control"
expect_drift "a new build dependency without a map line"
fresh_copies
sed -i '0,/^BuildRequires:/s//BuildRequires:  libfoo-devel\nBuildRequires:/' "$tmp/spec"
expect_drift "a BuildRequires added to the spec alone"
fresh_copies
sed -i '/^BuildRequires:  libuv-devel/d' "$tmp/spec"
expect_drift "a BuildRequires dropped from the spec alone"
fresh_copies
sed -i 's/^\(Build-Depends:.*\)$/\1\n               qemu-utils <pkg.cvm.nosuch>,/' "$tmp/control"
expect_drift "a test dependency under a profile no group activates"
exit "$status"
