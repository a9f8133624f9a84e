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
bins: $(BUILD)/daemon/cvmd $(BUILD)/daemon/cvm-vmm $(BUILD)/client/cvmctl \
	$(BUILD)/client/cvm-libvirt-hook

# MODE,SOURCE,DESTINATION: one line a file, for install and uninstall.
CVM_FILES := \
	0755,$(BUILD)/daemon/cvmd,$(SBINDIR)/cvmd \
	0755,$(BUILD)/daemon/cvm-vmm,$(LIBEXECDIR)/cvm/cvm-vmm \
	0755,$(BUILD)/client/cvmctl,$(BINDIR)/cvmctl \
	0755,$(BUILD)/client/cvm-libvirt-hook,$(LIBEXECDIR)/cvm/cvm-libvirt-hook \
	0644,daemon/cvmd.conf,$(SYSCONFDIR)/cvm/cvmd.conf \
	0644,daemon/cvmd.8,$(MANDIR)/man8/cvmd.8 \
	0644,client/cvmctl.1,$(MANDIR)/man1/cvmctl.1 \
	0644,client/cvmctl.bash-completion,$(BASHCOMPDIR)/cvmctl \
	0644,systemd/cvmd.service,$(UNITDIR)/cvmd.service \
	0644,systemd/cvmd.socket,$(UNITDIR)/cvmd.socket \
	0644,systemd/cvmd-metrics.socket,$(UNITDIR)/cvmd-metrics.socket \
	0644,systemd/cvmd-tls.socket,$(UNITDIR)/cvmd-tls.socket \
	0644,systemd/cvm.sysusers,$(SYSUSERSDIR)/cvm.conf \
	0644,systemd/cvm.tmpfiles,$(TMPFILESDIR)/cvm.conf \
	0644,systemd/60-cvm.rules,$(UDEVRULESDIR)/60-cvm.rules \
	0644,systemd/org.cvm.Manager1.conf,$(DATADIR)/dbus-1/system.d/org.cvm.Manager1.conf \
	0644,systemd/org.cvm.Manager1.service,$(DATADIR)/dbus-1/system-services/org.cvm.Manager1.service \
	0644,systemd/org.cvm.Manager1.xml,$(DATADIR)/dbus-1/interfaces/org.cvm.Manager1.xml \
	0644,systemd/org.cvm.VM1.xml,$(DATADIR)/dbus-1/interfaces/org.cvm.VM1.xml \
	0644,systemd/org.cvm.policy,$(DATADIR)/polkit-1/actions/org.cvm.policy
DKMS_FILES := \
	0644,systemd/cvm-modules-load.conf,$(MODULESLOADDIR)/cvm.conf \
	0644,systemd/cvm-modprobe.conf,$(MODPROBEDIR)/cvm.conf

install: bins
	packaging/install-files.sh install "$(DESTDIR)" $(CVM_FILES)
	@# A link, not a copy: it leaves with the package, so libvirt never runs
	@# a hook whose cvmctl is gone.
	install -d $(DESTDIR)$(LIBVIRTHOOKDIR)
	ln -sf $(LIBEXECDIR)/cvm/cvm-libvirt-hook $(DESTDIR)$(LIBVIRTHOOKDIR)/cvm

# The module's source as DKMS builds it (packaging/dkms), and what loads
# and configures the module once built.
install-dkms:
	install -d $(DESTDIR)$(DKMSSRCDIR)/uapi
	install -m 0644 kmod/cvm_*.c kmod/cvm_*.h kmod/Kbuild $(DESTDIR)$(DKMSSRCDIR)/
	install -m 0644 kmod/uapi/*.h $(DESTDIR)$(DKMSSRCDIR)/uapi/
	sed 's/#MODULE_VERSION#/$(DKMS_VERSION)/' packaging/dkms/dkms.conf >$(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	chmod 0644 $(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	packaging/install-files.sh install "$(DESTDIR)" $(DKMS_FILES)

# What install and install-dkms put there; the registry (/var/lib/cvm) and
# the cvm group stay, as with the packages' removal.
uninstall:
	packaging/install-files.sh uninstall "$(DESTDIR)" $(CVM_FILES) $(DKMS_FILES)
	rm -f $(DESTDIR)$(LIBVIRTHOOKDIR)/cvm
	rm -rf $(DESTDIR)$(DKMSSRCDIR)
	-rmdir $(DESTDIR)$(LIBEXECDIR)/cvm $(DESTDIR)$(SYSCONFDIR)/cvm 2>/dev/null

.PHONY: bins install install-dkms uninstall
