#!/bin/bash
# rpm-vs-deb.sh PACKAGES - the RPMs (packaging/rpm/cvm.spec) ship what the
# .debs (packaging/debian) ship. PACKAGES holds the output of `make deb` and
# `make rpm` for one version (build/packages); the newest of each is taken.
#
#   1. each package's files, by `dpkg-deb -c` and the rpm's file list, the
#      same once the documented distribution differences are normalised
#      (packaging/rpm/README.md): Debian 12 keeps units, udev rules and
#      modprobe.d in /lib; Debian adds /usr/share/doc/PKG/{changelog.gz,
#      copyright} and lintian's overrides; RPM adds its doc and license
#      dirs and /usr/lib/.build-id links; man pages are compressed (either
#      way); directories are left out. Then the same modes and link
#      targets, and config files;
#   2. cvm-dkms is noarch (the deb's "all"), cvm the deb's architecture;
#   3. the scriptlets (`rpm -qp --scripts`): the cvm group in %pre as the
#      package's sysusers.d file has it, tmpfiles and the units in %post,
#      VMMs and module ended on erase, dkms add/build/install and remove.
#
# TAP lines ("ok - ..." / "not ok - ...") for tests/run-suite.sh.
set -u
export LC_ALL=C
TAB=$'\t'

PKGS=${1:?usage: rpm-vs-deb.sh PACKAGES}
failures=0
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	failures=$((failures + 1))
}
# newest FILE...: the latest build of one package, if any.
# shellcheck disable=SC2012 # the packages' own names: no odd characters
newest() { ls -t -- "$@" 2>/dev/null | head -n 1; }

deb_cvm=$(newest "$PKGS"/cvm_*.deb)
deb_dkms=$(newest "$PKGS"/cvm-dkms_*.deb)
rpm_cvm=$(newest "$PKGS"/cvm-[0-9]*.rpm)
rpm_dkms=$(newest "$PKGS"/cvm-dkms-[0-9]*.rpm)
for f in deb_cvm deb_dkms rpm_cvm rpm_dkms; do
	if [ -z "${!f}" ]; then
		not_ok "$PKGS has a ${f#*_} ${f%_*}: run make deb rpm"
		exit 1
	fi
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

rpmq() { rpm -qp --nosignature --qf "$@"; }
version=$(rpmq '%{VERSION}' "$rpm_cvm")
deb_version=$(dpkg-deb -f "$deb_cvm" Version)
case $deb_version in
"$version" | "$version"[-+~]*) ok "debs ($deb_version) and rpms ($version) are one version" ;;
*) not_ok "debs ($deb_version) and rpms ($version) are one version" ;;
esac

# The known differences, on "MODE PATH[ -> TARGET]" lines.
normalise_deb() { # PKG
	sed -E -e 's,^([^ ]+) /lib/(systemd/system|udev/rules\.d|modprobe\.d)/,\1 /usr/lib/\2/,' \
		-e "\\,^[^ ]+ /usr/share/doc/$1/(changelog\\.gz|copyright)\$,d" \
		-e "\\,^[^ ]+ /usr/share/lintian/overrides/$1\$,d" \
		-e 's,^([^ ]+ /usr/share/man/.*)\.(gz|bz2|xz|zst)$,\1,'
}
normalise_rpm() { # PKG
	sed -E -e "\\,^[^ ]+ /usr/share/(doc|licenses)/$1(-[0-9][^/]*)?/,d" \
		-e '\,^[^ ]+ /usr/lib/\.build-id/,d' \
		-e 's,^([^ ]+ /usr/share/man/.*)\.(gz|bz2|xz|zst)$,\1,'
}
# Every entry but directories.
deb_entries() { # DEB
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ {
		sub(/^\.\//, "", $6)
		line = $1 " /" $6
		if ($7 == "->") line = line " -> " $8
		print line
	}'
}
rpm_entries() { # RPM
	rpmq '[%{FILEMODES:perms} %{FILENAMES}\t%{FILELINKTOS}\n]' "$1" |
		awk -F'\t' '$1 !~ /^d/ { print $1 ($2 == "" ? "" : " -> " $2) }'
}
paths() { awk '{ print $2 }' "$1" | sort; }
# by_path FILE: "PATH<tab>MODE<tab>TARGET" lines, for join.
by_path() { awk -v OFS="$TAB" '{ print $2, $1, ($3 == "->" ? $4 : "") }' "$1" | sort -t "$TAB" -k1,1; }
# oneline FILE PREFIX: "PREFIX a b c; " when FILE has lines.
oneline() { [ -s "$1" ] && printf '%s %s; ' "$2" "$(paste -sd ' ' "$1")"; }

compare() { # NAME DEB RPM
	local name=$1 d=$WORK/$1.deb r=$WORK/$1.rpm diff
	deb_entries "$2" | normalise_deb "$name" | sort -k2 >"$d"
	rpm_entries "$3" | normalise_rpm "$name" | sort -k2 >"$r"

	comm -23 <(paths "$d") <(paths "$r") >"$WORK/only-deb"
	comm -13 <(paths "$d") <(paths "$r") >"$WORK/only-rpm"
	diff=$(oneline "$WORK/only-deb" "only in the deb:"; oneline "$WORK/only-rpm" "only in the rpm:")
	if [ -z "$diff" ] && [ -s "$d" ]; then
		ok "rpm $name: same files as the deb ($(wc -l <"$d"))"
	else
		diff=${diff%; }
		not_ok "rpm $name: same files as the deb: ${diff:-no files}"
	fi

	# Modes and link targets of the files both have.
	diff=$(join -t "$TAB" -o 1.1,1.2,1.3,2.2,2.3 <(by_path "$d") <(by_path "$r") |
		awk -F"$TAB" '$2 != $4 || $3 != $5 { printf "%s: deb %s%s, rpm %s%s; ", $1, $2, \
			($3 == "" ? "" : " -> " $3), $4, ($5 == "" ? "" : " -> " $5) }')
	if [ -z "$diff" ]; then
		ok "rpm $name: same modes and link targets as the deb"
	else
		not_ok "rpm $name: same modes and link targets as the deb: ${diff%; }"
	fi
}

# Config files: the deb's conffiles are the rpm's %config(noreplace).
compare_config() { # NAME DEB RPM
	local deb rpm
	deb=$(dpkg-deb --info "$2" conffiles 2>/dev/null | sort | paste -sd ' ')
	rpm=$(rpmq '[%{FILEFLAGS:fflags}\t%{FILENAMES}\n]' "$3" |
		awk -F"$TAB" '$1 ~ /c/ { print ($1 ~ /n/ ? "" : "(replace)") $2 }' | sort | paste -sd ' ')
	if [ "$deb" = "$rpm" ]; then
		ok "rpm $1: config files as the deb's conffiles, noreplace (${rpm:-none})"
	else
		not_ok "rpm $1: config files as the deb's conffiles: deb ${deb:-none}, rpm ${rpm:-none}"
	fi
}

compare cvm "$deb_cvm" "$rpm_cvm"
compare_config cvm "$deb_cvm" "$rpm_cvm"
compare cvm-dkms "$deb_dkms" "$rpm_dkms"
compare_config cvm-dkms "$deb_dkms" "$rpm_dkms"

arch=$(rpmq '%{ARCH}' "$rpm_dkms")
deb_arch=$(dpkg-deb -f "$deb_dkms" Architecture)
if [ "$arch" = noarch ] && [ "$deb_arch" = all ]; then
	ok "rpm cvm-dkms is noarch, the deb all"
else
	not_ok "rpm cvm-dkms is noarch, the deb all: rpm $arch, deb $deb_arch"
fi
arch=$(rpmq '%{ARCH}' "$rpm_cvm")
deb_arch=$(dpkg-deb -f "$deb_cvm" Architecture)
case $deb_arch:$arch in
amd64:x86_64 | arm64:aarch64 | i386:i686 | ppc64el:ppc64le | s390x:s390x | riscv64:riscv64)
	ok "rpm cvm is $arch, the deb $deb_arch" ;;
*) not_ok "rpm cvm is the deb's architecture: rpm $arch, deb $deb_arch" ;;
esac

# scriptlet NAME RPM SCRIPTLET WHAT REGEX...: every REGEX is in it.
scriptlet() {
	local name=$1 rpm=$2 which=$3 what=$4 tag text re
	shift 4
	case $which in
	pre) tag=PREIN ;; post) tag=POSTIN ;; preun) tag=PREUN ;; postun) tag=POSTUN ;;
	esac
	text=$(rpmq "%{$tag}" "$rpm")
	for re in "$@"; do
		if ! grep -Eq -- "$re" <<<"$text"; then
			not_ok "rpm $name: %$which $what: no /$re/ in it"
			return
		fi
	done
	ok "rpm $name: %$which $what"
}
scriptlet cvm "$rpm_cvm" pre "creates the cvm group (systemd-sysusers)" \
	'systemd-sysusers .*/sysusers\.d/cvm\.conf'
scriptlet cvm "$rpm_cvm" post "creates cvm's directories, reloads the bus and libvirtd, enables the units" \
	'systemd-tmpfiles --create cvm\.conf' 'reload dbus\.service' 'reload libvirtd\.service' \
	'(preset|install-system-units) cvmd\.service cvmd\.socket'
scriptlet cvm "$rpm_cvm" preun "stops the units, ends the VMMs and unloads the module on erase" \
	'(disable --now|remove-system-units) cvmd\.service cvmd\.socket' \
	'systemctl kill --signal=SIGTERM cvmd\.service' '/cvm/cvm-vmm' 'rmmod cvm'
scriptlet cvm "$rpm_cvm" postun "restarts cvmd on upgrade, reloads the bus and libvirtd on erase" \
	'(try-restart|mark-restart-system-units) cvmd\.service( |$)' 'reload dbus\.service' 'reload libvirtd\.service'
scriptlet cvm-dkms "$rpm_dkms" post "adds, builds and installs the module (dkms)" \
	"dkms add -m cvm -v $version" "dkms build -m cvm -v $version" "dkms install -m cvm -v $version"
scriptlet cvm-dkms "$rpm_dkms" preun "removes the module (dkms) and unloads it on erase" \
	"dkms remove -m cvm -v $version .*--all" 'rmmod cvm'

# %pre declares the cvm group inline (the file is not installed yet): the
# same lines as the package's sysusers.d/cvm.conf.
rpm2cpio "$rpm_cvm" | (cd "$WORK" && cpio -idm --quiet './usr/lib/sysusers.d/cvm.conf')
want=$(grep -Ev '^[[:space:]]*(#|$)' "$WORK/usr/lib/sysusers.d/cvm.conf" 2>/dev/null)
got=$(rpmq '%{PREIN}' "$rpm_cvm" | sed -n '/<<.SYSUSERS_EOF/,/^SYSUSERS_EOF$/p' | sed '1d;$d')
if [ -n "$want" ] && [ "$want" = "$got" ]; then
	ok "rpm cvm: %pre's sysusers lines are sysusers.d/cvm.conf's ($want)"
else
	not_ok "rpm cvm: %pre's sysusers lines are sysusers.d/cvm.conf's: file '${want:-missing}', %pre '$got'"
fi

# DKMS finds the source under its own version.
conf=$(rpm2cpio "$rpm_dkms" | cpio -i --quiet --to-stdout "./usr/src/cvm-$version/dkms.conf")
if grep -qx "PACKAGE_VERSION=\"$version\"" <<<"$conf"; then
	ok "rpm cvm-dkms: /usr/src/cvm-$version/dkms.conf is version $version"
else
	not_ok "rpm cvm-dkms: /usr/src/cvm-$version/dkms.conf is version $version: $(grep PACKAGE_VERSION <<<"$conf")"
fi

[ "$failures" -eq 0 ]
