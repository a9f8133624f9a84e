#!/bin/sh
# install-files.sh install|uninstall DESTDIR MODE,SOURCE,DESTINATION...
# The file table of packaging/install.mk, installed or removed.
set -e
action=$1
destdir=$2
shift 2
for entry in "$@"; do
	mode=${entry%%,*}
	rest=${entry#*,}
	src=${rest%%,*}
	dst=$destdir${rest#*,}
	case $action in
	install) install -D -m "$mode" "$src" "$dst" ;;
	uninstall) rm -f "$dst" ;;
	*) echo "install-files.sh: unknown action '$action'" >&2; exit 2 ;;
	esac
done
