#!/bin/bash
# host-apt.sh mirror | proxy | install ROOT - the machine's own apt
# configuration, for the Debian roots the tests build. Nothing about a
# mirror or a proxy is written in the tree: it comes from here.
#
#   mirror        the URI of the Debian archive that serves bookworm
#   proxy         Acquire::http::Proxy, if any (for debootstrap's http_proxy)
#   install ROOT  the Debian sources and the Acquire settings into ROOT
#
# The sources are those apt itself lists with origin Debian (`apt-get
# indextargets`: one-line and deb822 .sources alike, enabled entries only).
set -euo pipefail

debian_sources() { # "URI SUITE COMPONENT" for each Debian package index
	apt-get indextargets --format '$(ORIGIN) $(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Created-By: Packages' 2>/dev/null | awk '$1 == "Debian" { print $2, $3, $4 }' | sort -u
}

need_sources() {
	local s
	s=$(debian_sources)
	[ -n "$s" ] || {
		echo "host-apt.sh: apt lists no Debian source here (run 'apt-get update')" >&2
		exit 1
	}
	printf '%s\n' "$s"
}

case ${1:-} in
mirror)
	need_sources | awk '$2 == "bookworm" { print $1; exit }' | grep . ||
		{ echo "host-apt.sh: no Debian source serves bookworm" >&2; exit 1; }
	;;
proxy)
	eval "$(apt-config shell proxy Acquire::http::Proxy)"
	[ "${proxy:-DIRECT}" = DIRECT ] || echo "$proxy"
	;;
install)
	root=${2:?usage: host-apt.sh install ROOT}
	mkdir -p "$root/etc/apt/sources.list.d" "$root/etc/apt/apt.conf.d"
	rm -f "$root/etc/apt/sources.list"
	need_sources | awk '
		{ suites[$1] = suites[$1] ? suites[$1] : ""; key = $1 " " $2
		  if (!(key in seen)) { seen[key] = 1; s[$1] = s[$1] " " $2 }
		  if (!(($1 " " $3) in cseen)) { cseen[$1 " " $3] = 1; c[$1] = c[$1] " " $3 } }
		END { for (u in s) printf "Types: deb\nURIs: %s\nSuites:%s\nComponents:%s\n\n", u, s[u], c[u] }
	' >"$root/etc/apt/sources.list.d/debian.sources"
	# Proxies, validity and index settings: the host's own files that set
	# Acquire options, as they are.
	for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
		[ -f "$f" ] && grep -q 'Acquire' "$f" || continue
		cp "$f" "$root/etc/apt/apt.conf.d/50host-$(basename "$f")"
	done
	;;
*)
	echo "usage: host-apt.sh mirror | proxy | install ROOT" >&2
	exit 2
	;;
esac
