# `make install` and `make install-dkms`: where every file of cvm goes.
# Included by the top-level Makefile; the .deb and .rpm builds call these
# with DESTDIR and the distribution's own directories (packaging/README.md).

PREFIX ?= /usr
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
# systemd's and udev's own answers, so a merged-/usr system and one that is
# not both get what they read; the fallbacks are the upstream defaults.
UNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/usr/lib/systemd/system)
UDEVRULESDIR ?= $(or $(shell pkg-config --variable=udevdir udev 2>/dev/null),/usr/lib/udev)/rules.d
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
MODULESLOADDIR ?= /usr/lib/modules-load.d
MODPROBEDIR ?= /usr/lib/modprobe.d
BASHCOMPDIR ?= $(or $(shell pkg-config --variable=completionsdir bash-completion 2>/dev/null),$(DATADIR)/bash-completion/completions)
DKMS_VERSION ?= $(VERSION)
DKMSSRCDIR ?= /usr/src/cvm-$(DKMS_VERSION)
# libvirt (>= 6.5) runs every executable in this directory for each domain.
LIBVIRTHOOKDIR ?= $(SYSCONFDIR)/libvirt/hooks/qemu.d

# Only what ships: no tests, no sanitizers.
bins: $(BUILD)/daemon/cvmd $(BUILD)/daemon/cvm-vmm $(BUILD)/client/cvmctl

install: bins
	install -D -m 0755 $(BUILD)/daemon/cvmd $(DESTDIR)$(SBINDIR)/cvmd
	install -D -m 0755 $(BUILD)/daemon/cvm-vmm $(DESTDIR)$(LIBEXECDIR)/cvm/cvm-vmm
	install -D -m 0755 $(BUILD)/client/cvmctl $(DESTDIR)$(BINDIR)/cvmctl
	install -D -m 0755 client/cvm-libvirt-hook $(DESTDIR)$(LIBEXECDIR)/cvm/cvm-libvirt-hook
	# A link, not a copy: it leaves with the package, so libvirt never runs
	# a hook whose cvmctl is gone.
	install -d $(DESTDIR)$(LIBVIRTHOOKDIR)
	ln -sf $(LIBEXECDIR)/cvm/cvm-libvirt-hook $(DESTDIR)$(LIBVIRTHOOKDIR)/cvm
	install -D -m 0644 daemon/cvmd.conf $(DESTDIR)$(SYSCONFDIR)/cvm/cvmd.conf
	install -D -m 0644 daemon/cvmd.8 $(DESTDIR)$(MANDIR)/man8/cvmd.8
	install -D -m 0644 client/cvmctl.1 $(DESTDIR)$(MANDIR)/man1/cvmctl.1
	install -D -m 0644 client/cvmctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/cvmctl
	install -D -m 0644 systemd/cvmd.service $(DESTDIR)$(UNITDIR)/cvmd.service
	install -D -m 0644 systemd/cvmd.socket $(DESTDIR)$(UNITDIR)/cvmd.socket
	install -D -m 0644 systemd/cvm.sysusers $(DESTDIR)$(SYSUSERSDIR)/cvm.conf
	install -D -m 0644 systemd/cvm.tmpfiles $(DESTDIR)$(TMPFILESDIR)/cvm.conf
	install -D -m 0644 systemd/60-cvm.rules $(DESTDIR)$(UDEVRULESDIR)/60-cvm.rules
	install -D -m 0644 systemd/org.cvm.Manager1.conf $(DESTDIR)$(DATADIR)/dbus-1/system.d/org.cvm.Manager1.conf
	install -D -m 0644 systemd/org.cvm.Manager1.service $(DESTDIR)$(DATADIR)/dbus-1/system-services/org.cvm.Manager1.service
	install -D -m 0644 systemd/org.cvm.Manager1.xml $(DESTDIR)$(DATADIR)/dbus-1/interfaces/org.cvm.Manager1.xml
	install -D -m 0644 systemd/org.cvm.VM1.xml $(DESTDIR)$(DATADIR)/dbus-1/interfaces/org.cvm.VM1.xml
	install -D -m 0644 systemd/org.cvm.policy $(DESTDIR)$(DATADIR)/polkit-1/actions/org.cvm.policy

# The module's source as DKMS builds it (packaging/dkms), and what loads
# and configures the module once built.
install-dkms:
	install -d $(DESTDIR)$(DKMSSRCDIR)/uapi
	install -m 0644 kmod/cvm_*.c kmod/cvm_*.h kmod/Kbuild $(DESTDIR)$(DKMSSRCDIR)/
	install -m 0644 kmod/uapi/*.h $(DESTDIR)$(DKMSSRCDIR)/uapi/
	sed 's/#MODULE_VERSION#/$(DKMS_VERSION)/' packaging/dkms/dkms.conf >$(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	chmod 0644 $(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	install -D -m 0644 systemd/cvm-modules-load.conf $(DESTDIR)$(MODULESLOADDIR)/cvm.conf
	install -D -m 0644 systemd/cvm-modprobe.conf $(DESTDIR)$(MODPROBEDIR)/cvm.conf

.PHONY: bins install install-dkms
