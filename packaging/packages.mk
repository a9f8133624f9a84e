# `make deb` and `make rpm`: the packages, built from a copy of the tree
# (packaging/README.md). DEB_VERSION / RPM_RELEASE name a rebuild of the
# same sources (check-system upgrades to one).

DEB_VERSION ?= $(VERSION)
RPM_RELEASE ?= 1
PKG_OUT := $(BUILD)/packages
PKG_TREE := Makefile VERSION README.md kmod daemon proto client systemd packaging docs

deb:
	@rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/cvm-$(DEB_VERSION) $(PKG_OUT)
	tar -c $(PKG_TREE) | tar -x -C $(BUILD)/deb/cvm-$(DEB_VERSION)
	cp -r packaging/debian $(BUILD)/deb/cvm-$(DEB_VERSION)/debian
	packaging/deb-changelog.sh $(VERSION) $(DEB_VERSION) \
		$(BUILD)/deb/cvm-$(DEB_VERSION)/debian/changelog
	@# Not this make's variables (BUILD=..., CFLAGS=...) in debian/rules' make.
	cd $(BUILD)/deb/cvm-$(DEB_VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -b -us -uc -j$$(nproc) >../build.log 2>&1 || \
		{ tail -40 ../build.log >&2; exit 1; }
	mv $(BUILD)/deb/*.deb $(PKG_OUT)/
	@ls -1 $(PKG_OUT)/*_$(DEB_VERSION)_*.deb

rpm:
	@rm -rf $(BUILD)/rpm && mkdir -p $(BUILD)/rpm/SOURCES $(PKG_OUT)
	tar -c --transform 's,^,cvm-$(VERSION)/,' $(PKG_TREE) | gzip -n >$(BUILD)/rpm/SOURCES/cvm-$(VERSION).tar.gz
	@# Not this make's variables (BUILD=..., CFLAGS=...) in the spec's make.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		rpmbuild -bb --nodeps --define '_topdir $(abspath $(BUILD)/rpm)' \
		--define 'cvm_version $(VERSION)' --define 'cvm_release $(RPM_RELEASE)' \
		packaging/rpm/cvm.spec >$(BUILD)/rpm/build.log 2>&1 || \
		{ tail -40 $(BUILD)/rpm/build.log >&2; exit 1; }
	find $(BUILD)/rpm/RPMS -name '*.rpm' -exec mv {} $(PKG_OUT)/ \;
	@ls -1 $(PKG_OUT)/*.rpm

.PHONY: deb rpm
