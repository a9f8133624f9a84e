#!/bin/sh
# deb-changelog.sh VERSION DEB_VERSION CHANGELOG - a rebuild of release
# VERSION as DEB_VERSION gets its own changelog entry on top.
set -e
[ "$1" = "$2" ] && exit 0
tmp=$3.new
{
	printf 'cvm (%s) unstable; urgency=medium\n\n' "$2"
	printf '  * Rebuild of %s.\n\n' "$1"
	printf ' -- cvm maintainers <maintainers@cvm-project.org>  %s\n\n' "$(date -R)"
	cat "$3"
} >"$tmp"
mv "$tmp" "$3"
