# cvm - top-level build. `make run` shows the product working; `make check`
# runs every test suite. Both install what they need first (Debian 12).

BUILD ?= build
export CVM_BUILD_DIR := $(abspath $(BUILD))

CC ?= gcc
CFLAGS ?= -O2 -g
VERSION := $(shell cat VERSION)
# CPPFLAGS and LDFLAGS come from the caller (dpkg-buildflags, rpm's
# %optflags): fortify, stack protector, relro and now-binding in packages.
CVM_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-DCVM_VERSION='"$(VERSION)"' -Ikmod -Idaemon/vmm/libcvm $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

# The kernel cvm.ko is built for and tested in (see tests/vm/README.md):
# the newest with both image and headers, else (a build-only machine) the
# newest with headers.
KVER ?= $(shell tests/vm/kver.sh 2>/dev/null || tests/vm/kver.sh --headers 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build

# The module's portable core (kmod/cvm_core.h), compiled into cvm.ko and
# into the simulator; the simulator adds its OS glue.
CORE_SRC := kmod/cvm_core.c kmod/cvm_gfn.c kmod/cvm_convert.c kmod/cvm_secure.c \
	kmod/cvm_dma.c kmod/cvm_access.c kmod/cvm_snapshot.c kmod/cvm_measure.c \
	kmod/cvm_crypt.c kmod/cvm_fsm.c kmod/cvm_pool.c
CORE_HDR := kmod/cvm_core.h kmod/cvm_os.h kmod/cvm_fsm.h kmod/uapi/cvm.h
SIM_SRC := $(wildcard daemon/vmm/sim/*.c) $(CORE_SRC)
SIM_HDR := $(wildcard daemon/vmm/sim/*.h) daemon/vmm/backend.h daemon/list.h $(CORE_HDR)
LIBCVM_SRC := daemon/vmm/libcvm/cvm-dev.c kmod/cvm_fsm.c
LIBCVM_HDR := daemon/vmm/libcvm/cvm-dev.h kmod/cvm_fsm.h kmod/uapi/cvm.h
KMOD_SRC := $(wildcard kmod/*.c kmod/*.h kmod/uapi/*.h) kmod/Kbuild
KTEST_SRC := $(wildcard tests/vm/ktest-*.c)
KTEST_HDR := $(wildcard tests/vm/ktest*.h)
# The table tests, written once against a driver over daemon/vmm/backend.h
# and linked into both test-sim (sim backend) and cvm-ktest (kmod backend).
TABLE_SRC := tests/table/table-tests.c tests/table/tvm.c
TABLE_HDR := tests/table/table.h daemon/vmm/backend.h

SUITES := unit vm integration integration-kmod vm-debug hook libvirt dbus dbus-polkit hostile fuzz \
	metrics fleet fresh system
UNIT_TESTS := $(BUILD)/tests/unit/test-fsm $(BUILD)/tests/unit/test-cvmctl \
	$(BUILD)/tests/unit/test-sim $(BUILD)/tests/unit/test-hook $(BUILD)/tests/unit/test-ops \
	$(BUILD)/tests/unit/test-tls

all: userspace module

# cvmd and cvm-vmm with ASan + UBSan (check-hostile, check-metrics, check-dbus).
ASAN_BINS := $(BUILD)/asan/daemon/cvmd $(BUILD)/asan/daemon/cvm-vmm
userspace: $(UNIT_TESTS) $(BUILD)/tests/vm/cvm-ktest \
	$(BUILD)/daemon/cvmd $(BUILD)/daemon/cvm-vmm $(BUILD)/client/cvmctl \
	$(BUILD)/client/cvm-libvirt-hook $(BUILD)/tests/hook/scan-diff \
	$(BUILD)/tests/vm/cvm-demo $(BUILD)/tests/bench/bench-pin \
	$(BUILD)/tests/bench/bench-secure $(BUILD)/tests/fuzz/fuzz-request \
	$(BUILD)/tests/fuzz/fuzz-core $(BUILD)/tests/fuzz/fuzz-config \
	$(BUILD)/tests/fuzz/fuzz-hook-xml $(BUILD)/tests/fuzz/fuzz-vmm-answer \
	$(BUILD)/tests/fuzz/fuzz-bus-args \
	$(BUILD)/tests/fuzz-kmod/fuzz-kmod \
	$(BUILD)/tests/dbus/bus-big-write $(BUILD)/tests/dbus/bus-flood $(ASAN_BINS)

# make install / install-dkms, and make deb / rpm (packaging/README.md).
include packaging/install.mk
include packaging/packages.mk

# One list: Build-Depends of packaging/debian/control, one build profile
# per test group (packaging/install-deps.sh). `make run` needs the build's
# own; `make check` every group's.
deps:
	@packaging/install-deps.sh all
deps-build:
	@packaging/install-deps.sh

# Kbuild writes next to the sources: build from a copy under $(BUILD).
module: $(BUILD)/kmod/cvm.ko
$(BUILD)/kmod/cvm.ko: $(KMOD_SRC)
	@test -n "$(KVER)" || { echo "no Debian kernel build tree: run 'packaging/install-deps.sh kbuild'" >&2; exit 1; }
	@mkdir -p $(BUILD)/kmod/uapi
	cp kmod/*.c kmod/*.h kmod/Kbuild $(BUILD)/kmod/
	cp kmod/uapi/*.h $(BUILD)/kmod/uapi/
	$(MAKE) -C $(KDIR) M=$(abspath $(BUILD)/kmod) modules

# Unit tests always run under ASan + UBSan.
$(BUILD)/tests/unit/test-fsm: tests/unit/test-fsm.c kmod/cvm_fsm.c kmod/cvm_fsm.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(SANITIZE) -o $@ tests/unit/test-fsm.c kmod/cvm_fsm.c -lcmocka

# The protocol: C code generated from proto/cvm.proto, plus framing.
PROTO_GEN := $(BUILD)/proto/cvm.pb-c.c $(BUILD)/proto/cvm.pb-c.h
PROTO_SRC := $(BUILD)/proto/cvm.pb-c.c proto/cvm-frame.c proto/cvm-ops.c
PROTO_CFLAGS := -I$(BUILD)/proto -Iproto
$(PROTO_GEN) &: proto/cvm.proto
	@mkdir -p $(BUILD)/proto
	protoc-c --c_out=$(BUILD)/proto -Iproto proto/cvm.proto
# The protocol's operation table (proto/cvm-ops.c), in all that links PROTO_SRC.
PROTO_OPS_USERS := client/cvmctl daemon/cvmd daemon/cvm-vmm asan/daemon/cvmd \
	asan/daemon/cvm-vmm tests/unit/test-cvmctl tests/unit/test-ops tests/bench/bench-cvmd \
	tests/bench/bench-dbus tests/bench/bench-fleet tests/fuzz/fuzz-request \
	tests/fuzz/fuzz-vmm-answer tests/fuzz/fuzz-bus-args
$(addprefix $(BUILD)/,$(PROTO_OPS_USERS)): proto/cvm-ops.c proto/cvm-ops.h

# The hook's entry (cvm-libvirt-hook) is a program of its own, libc only.
HOOK_ENTRY_SRC := client/hook-entry.c client/hook-scan.c client/read-all.c
CVMCTL_SRC := $(filter-out client/hook-entry.c client/hook-scan.c,$(wildcard client/*.c))
CVMCTL_HDR := $(filter-out client/hook-scan.h,$(wildcard client/*.h))
$(BUILD)/client/cvmctl: $(CVMCTL_SRC) $(CVMCTL_HDR) $(PROTO_GEN) proto/cvm-frame.c proto/cvm-frame.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(PROTO_CFLAGS) $(XML_CFLAGS) -Iclient -o $@ $(CVMCTL_SRC) $(PROTO_SRC) \
		-lprotobuf-c -ljson-c $(XML_LIBS) -lssl -lcrypto

# cvmctl's pure parts (argument parsing), with ASan + UBSan.
# libc only: it starts as fast as /bin/true, for the domains that don't opt in.
$(BUILD)/client/cvm-libvirt-hook: $(HOOK_ENTRY_SRC) client/hook-scan.h client/read-all.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -Iclient -o $@ $(HOOK_ENTRY_SRC)

# The entry's scanner against the full hook's parser, on the recorded
# documents and their mutations (run by check-hook).
$(BUILD)/tests/hook/scan-diff: tests/hook/scan-diff.c client/hook-scan.c client/hook-scan.h \
		client/hook-xml.c client/hook-xml.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(SANITIZE) $(XML_CFLAGS) -Iclient -o $@ tests/hook/scan-diff.c \
		client/hook-scan.c client/hook-xml.c $(XML_LIBS)

CVMCTL_LIB_SRC := $(filter-out client/cvmctl.c,$(CVMCTL_SRC))
$(BUILD)/tests/unit/test-cvmctl: tests/unit/test-cvmctl.c $(CVMCTL_SRC) $(CVMCTL_HDR) $(PROTO_GEN) proto/cvm-frame.c
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(PROTO_CFLAGS) $(XML_CFLAGS) $(SANITIZE) -Iclient -o $@ tests/unit/test-cvmctl.c \
		$(CVMCTL_LIB_SRC) $(PROTO_SRC) -lcmocka -lprotobuf-c -ljson-c $(XML_LIBS) \
		-lssl -lcrypto

# The remote API's pure logic (daemon/tls.c), with ASan + UBSan.
$(BUILD)/tests/unit/test-tls: tests/unit/test-tls.c daemon/tls.c daemon/tls.h daemon/cvmd-config.c \
		$(PROTO_GEN)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(SANITIZE) $(PROTO_CFLAGS) -Idaemon -o $@ tests/unit/test-tls.c \
		daemon/tls.c daemon/cvmd-config.c -lcmocka -linih -lssl -lcrypto

$(BUILD)/tests/unit/test-hook: tests/unit/test-hook.c client/hook-xml.c client/hook-xml.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(SANITIZE) $(XML_CFLAGS) -Iclient -o $@ tests/unit/test-hook.c \
		client/hook-xml.c -lcmocka $(XML_LIBS)

# cvmd, and cvm-vmm (one per VM) with both backends.
CVMD_SRC := daemon/cvmd.c daemon/cvmd-config.c daemon/server.c daemon/vm.c \
	daemon/vm-rpc.c daemon/events.c daemon/messages.c daemon/registry.c \
	daemon/bus.c daemon/vm-bus.c daemon/libvirt.c daemon/virt-api.c \
	daemon/vmm-process.c daemon/vmm-connection.c daemon/limits.c daemon/vm-record.c \
	daemon/cvmd-init.c daemon/operations.c \
	daemon/metrics.c daemon/attest.c daemon/tls.c daemon/tls-listen.c
CVMD_HDR := daemon/cvmd.h daemon/list.h daemon/registry.h daemon/bus.h \
	daemon/libvirt.h daemon/virt-api.h daemon/failpoint.h daemon/operations.h \
	daemon/metrics.h daemon/attest.h daemon/tls.h
# What cvmd links, for cvmd and everything built from its sources.
CVMD_LIBS := -luv -lsqlite3 -lmicrohttpd -lssl -lcrypto -linih -lsystemd -lprotobuf-c
XML_CFLAGS = $(shell xml2-config --cflags 2>/dev/null)
XML_LIBS = $(shell xml2-config --libs 2>/dev/null)

# The operation table and the errno table, with ASan + UBSan.
$(BUILD)/tests/unit/test-ops: tests/unit/test-ops.c $(CVMD_SRC) $(CVMD_HDR) $(PROTO_GEN) proto/cvm-frame.c proto/cvm-frame.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(SANITIZE) $(PROTO_CFLAGS) $(XML_CFLAGS) -Idaemon -o $@ tests/unit/test-ops.c \
		$(filter-out daemon/cvmd.c,$(CVMD_SRC)) $(PROTO_SRC) -lcmocka $(CVMD_LIBS) $(XML_LIBS) -lpthread -ldl
$(BUILD)/daemon/cvmd: $(CVMD_SRC) $(CVMD_HDR) $(PROTO_GEN) proto/cvm-frame.c proto/cvm-frame.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(PROTO_CFLAGS) $(XML_CFLAGS) -Idaemon -o $@ $(CVMD_SRC) $(PROTO_SRC) \
		$(CVMD_LIBS) $(XML_LIBS) -lpthread -ldl

VMM_SRC := $(wildcard daemon/vmm/*.c)
$(BUILD)/daemon/cvm-vmm: $(VMM_SRC) daemon/vmm/vmm.h daemon/vmm/backend.h $(SIM_SRC) $(SIM_HDR) \
		$(LIBCVM_SRC) $(LIBCVM_HDR) $(PROTO_GEN) proto/cvm-frame.c
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(PROTO_CFLAGS) -Idaemon -Idaemon/vmm -Idaemon/vmm/sim -o $@ $(VMM_SRC) \
		$(SIM_SRC) $(filter-out $(CORE_SRC),$(LIBCVM_SRC)) $(PROTO_SRC) -lprotobuf-c -lcrypto

# The ASan + UBSan cvmd (ASAN_BINS, defined above), for the adversarial suite.
# With its failpoints (daemon/failpoint.h), which the shipped cvmd lacks.
$(BUILD)/asan/daemon/cvmd: $(CVMD_SRC) $(CVMD_HDR) daemon/failpoint.c $(PROTO_GEN) proto/cvm-frame.c proto/cvm-frame.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(SANITIZE) -DCVMD_FAILPOINTS $(PROTO_CFLAGS) $(XML_CFLAGS) -Idaemon -o $@ \
		$(CVMD_SRC) daemon/failpoint.c \
		$(PROTO_SRC) $(CVMD_LIBS) $(XML_LIBS) -lpthread -ldl
$(BUILD)/asan/daemon/cvm-vmm: $(VMM_SRC) daemon/vmm/vmm.h daemon/vmm/backend.h $(SIM_SRC) $(SIM_HDR) \
		$(LIBCVM_SRC) $(LIBCVM_HDR) $(PROTO_GEN) proto/cvm-frame.c
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(SANITIZE) -DCVMD_FAILPOINTS $(PROTO_CFLAGS) -Idaemon -Idaemon/vmm \
		-Idaemon/vmm/sim -o $@ $(VMM_SRC) $(SIM_SRC) $(filter-out $(CORE_SRC),$(LIBCVM_SRC)) $(PROTO_SRC) -lprotobuf-c -lcrypto

# libFuzzer target: the API socket's bytes through framing and dispatch.
CVMD_LIB_SRC := $(filter-out daemon/cvmd.c,$(CVMD_SRC))
$(BUILD)/tests/fuzz/fuzz-request: tests/fuzz/fuzz-request.c $(CVMD_LIB_SRC) $(CVMD_HDR) $(PROTO_GEN) proto/cvm-frame.c
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-Ikmod -Idaemon $(PROTO_CFLAGS) $(XML_CFLAGS) -o $@ tests/fuzz/fuzz-request.c \
		$(CVMD_LIB_SRC) $(PROTO_SRC) $(CVMD_LIBS) \
		$(XML_LIBS) -lpthread -ldl

# libFuzzer target: a VMM's answers as cvmd reads them.
$(BUILD)/tests/fuzz/fuzz-vmm-answer: tests/fuzz/fuzz-vmm-answer.c $(CVMD_LIB_SRC) $(CVMD_HDR) $(PROTO_GEN) proto/cvm-frame.c
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -Wall -Werror -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-Ikmod -Idaemon $(PROTO_CFLAGS) $(XML_CFLAGS) -o $@ tests/fuzz/fuzz-vmm-answer.c \
		$(CVMD_LIB_SRC) $(PROTO_SRC) $(CVMD_LIBS) \
		$(XML_LIBS) -lpthread -ldl

# libFuzzer target: D-Bus method calls into cvmd's vtables, peer to peer
# (the target includes daemon/bus.c for its static manager vtable).
$(BUILD)/tests/fuzz/fuzz-bus-args: tests/fuzz/fuzz-bus-args.c $(CVMD_LIB_SRC) $(CVMD_HDR) $(PROTO_GEN) proto/cvm-frame.c
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -Wall -Werror -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-Ikmod -Idaemon $(PROTO_CFLAGS) $(XML_CFLAGS) -o $@ tests/fuzz/fuzz-bus-args.c \
		$(filter-out daemon/bus.c,$(CVMD_LIB_SRC)) $(PROTO_SRC) $(CVMD_LIBS) \
		$(XML_LIBS) -lpthread -ldl

# libFuzzer target: cvmd.conf (inih) and key=value overrides.
$(BUILD)/tests/fuzz/fuzz-config: tests/fuzz/fuzz-config.c daemon/cvmd-config.c $(CVMD_HDR) $(PROTO_GEN)
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -Wall -Werror -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-Ikmod -Idaemon $(PROTO_CFLAGS) -o $@ tests/fuzz/fuzz-config.c daemon/cvmd-config.c -linih

# libFuzzer target: the libvirt hook's domain XML (libxml2).
$(BUILD)/tests/fuzz/fuzz-hook-xml: tests/fuzz/fuzz-hook-xml.c client/hook-xml.c client/hook-xml.h
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -Wall -Werror -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(XML_CFLAGS) -Iclient -o $@ tests/fuzz/fuzz-hook-xml.c client/hook-xml.c $(XML_LIBS)

# libFuzzer target: the module's core through the sim backend, random
# operation sequences on random VMs, invariants after every step.
$(BUILD)/tests/fuzz/fuzz-core: tests/fuzz/fuzz-core.c $(SIM_SRC) $(SIM_HDR)
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -Wall -Werror -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined -Ikmod -Idaemon -Idaemon/vmm \
		-Idaemon/vmm/sim -o $@ tests/fuzz/fuzz-core.c $(SIM_SRC) -lcrypto

# `make fuzz-core FUZZ_SECONDS=N`: fuzz the core from its seed corpus; what
# it finds goes to $(BUILD)/fuzz/core (minimize it into tests/fuzz/corpus/core).
FUZZ_SECONDS ?= 60
fuzz-core: $(BUILD)/tests/fuzz/fuzz-core
	@mkdir -p $(BUILD)/fuzz/core
	$(BUILD)/tests/fuzz/fuzz-core -max_total_time=$(FUZZ_SECONDS) -max_len=2048 \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/core tests/fuzz/corpus/core

# What fuzz-core reaches of the core (llvm-cov), after FUZZ_SECONDS.
fuzz-core-cov:
	tests/fuzz/core-coverage.sh $(CVM_BUILD_DIR) $(FUZZ_SECONDS)

# Random ioctl sequences against cvm.ko in the guest (tests/fuzz-kmod):
# `make fuzz-kmod CALLS=N SEED=S`, on the debug kernel when this machine has
# it, else (or with FUZZ_KMOD_KERNEL=debian) on the Debian kernel; `make fuzz-kmod-cov` compares its KCOV coverage
# of cvm.ko with the vm suite's (debug kernel only).
CALLS ?= 1000000
SEED ?= 1
$(BUILD)/tests/fuzz-kmod/fuzz-kmod: tests/fuzz-kmod/fuzz-kmod.c kmod/uapi/cvm.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -o $@ tests/fuzz-kmod/fuzz-kmod.c -lpthread

fuzz-kmod: $(BUILD)/tests/fuzz-kmod/fuzz-kmod module
	@tests/fuzz-kmod/run.sh $(CVM_BUILD_DIR) $(CALLS) $(SEED)

fuzz-kmod-cov: $(BUILD)/tests/fuzz-kmod/fuzz-kmod $(BUILD)/tests/vm/cvm-ktest
	@tests/fuzz-kmod/run.sh --cov $(CVM_BUILD_DIR) $(CALLS) $(SEED)

print-%:
	@echo $($*)

$(BUILD)/tests/dbus/bus-big-write: tests/dbus/bus-big-write.c
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -o $@ $< -lsystemd

$(BUILD)/tests/dbus/bus-flood: tests/dbus/bus-flood.c
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -o $@ $< -lsystemd


$(BUILD)/tests/unit/test-sim: tests/unit/test-sim.c $(TABLE_SRC) $(TABLE_HDR) $(SIM_SRC) $(SIM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(SANITIZE) -Idaemon -Idaemon/vmm -Idaemon/vmm/sim -Itests/table -o $@ \
		tests/unit/test-sim.c $(TABLE_SRC) $(SIM_SRC) -lcmocka -lcrypto

# The in-kernel suite runs inside the guest, on the host's libraries.
$(BUILD)/tests/vm/cvm-ktest: $(KTEST_SRC) $(KTEST_HDR) $(TABLE_SRC) $(TABLE_HDR) \
		daemon/vmm/backend-kmod.c $(LIBCVM_SRC) $(LIBCVM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -Itests/vm -Idaemon/vmm -Itests/table -o $@ $(KTEST_SRC) $(TABLE_SRC) \
		daemon/vmm/backend-kmod.c $(LIBCVM_SRC) -lcmocka -lpthread -lcrypto

$(BUILD)/tests/vm/cvm-demo: tests/vm/demo.c $(LIBCVM_SRC) $(LIBCVM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -o $@ tests/vm/demo.c $(LIBCVM_SRC)

$(BUILD)/tests/bench/bench-pin: tests/bench/bench-pin.c $(LIBCVM_SRC) $(LIBCVM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -o $@ tests/bench/bench-pin.c $(LIBCVM_SRC) -lm

# On the kmod backend (in the guest) or the sim (on the host: bench-secure).
$(BUILD)/tests/bench/bench-secure: tests/bench/bench-secure.c daemon/vmm/backend-kmod.c $(SIM_SRC) \
		$(SIM_HDR) $(LIBCVM_SRC) $(LIBCVM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -Idaemon -Idaemon/vmm -Idaemon/vmm/sim -o $@ tests/bench/bench-secure.c \
		daemon/vmm/backend-kmod.c $(SIM_SRC) $(filter-out $(CORE_SRC),$(LIBCVM_SRC)) -lcrypto

# Secure-memory throughput natively: the sim backend on the host, no guest.
bench-secure: $(BUILD)/tests/bench/bench-secure
	$(BUILD)/tests/bench/bench-secure --sim

# Main job: cvmd + cvmctl walk one VM through its secure lifecycle
# (backend auto: the simulator here, cvm.ko where /dev/cvm exists).
run: deps-build $(BUILD)/daemon/cvmd $(BUILD)/daemon/cvm-vmm $(BUILD)/client/cvmctl
	@client/walkthrough.sh $(CVM_BUILD_DIR)

# The same walk-through against cvm.ko in the QEMU guest.
run-kmod: deps module $(BUILD)/daemon/cvmd $(BUILD)/daemon/cvm-vmm $(BUILD)/client/cvmctl
	tests/vm/run-in-guest.sh --timeout 300 -- /bin/sh -c 'modprobe -a gcm ctr ghash_generic; \
		insmod $(CVM_BUILD_DIR)/kmod/cvm.ko && client/walkthrough.sh $(CVM_BUILD_DIR); \
		st=$$?; rmmod cvm; exit $$st'

# The module's own demo (ioctls, no daemon) in the QEMU guest.
demo-kmod: deps module $(BUILD)/tests/vm/cvm-demo
	tests/vm/run-in-guest.sh --timeout 300 -- tests/vm/guest-demo.sh $(CVM_BUILD_DIR)

check-unit: $(UNIT_TESTS)
	@tests/run-suite.sh unit sh -c 'st=0; for t in $(UNIT_TESTS) tests/unit/deps-lists.sh; do \
		$$t || st=1; done; exit $$st'

INTEGRATION_BINS := $(BUILD)/daemon/cvmd $(BUILD)/daemon/cvm-vmm $(BUILD)/client/cvmctl

check-integration: $(INTEGRATION_BINS)
	@tests/run-suite.sh integration sh -c 'st=0; \
		tests/integration/scenario.sh $(CVM_BUILD_DIR) sim || st=1; \
		tests/integration/robustness.sh $(CVM_BUILD_DIR) || st=1; \
		tests/integration/systemd.sh $(CVM_BUILD_DIR) || st=1; exit $$st'

# The same scenario against cvm.ko in the guest.
check-integration-kmod: module $(INTEGRATION_BINS)
	@tests/run-suite.sh integration-kmod tests/vm/run-in-guest.sh --timeout 900 -- \
		tests/integration/guest-scenario.sh $(CVM_BUILD_DIR)

# The libvirt hook alone, on recorded calls and documents.
check-hook: $(INTEGRATION_BINS) $(BUILD)/client/cvm-libvirt-hook $(BUILD)/tests/hook/scan-diff
	@tests/run-suite.sh hook tests/hook/check-hook.sh $(CVM_BUILD_DIR)

# A real libvirtd starting TCG domains, with the hook installed.
check-libvirt: $(INTEGRATION_BINS)
	@tests/run-suite.sh libvirt tests/libvirt/check-libvirt.sh $(CVM_BUILD_DIR)

# D-Bus on a private dbus-daemon (polkit: in the guest, check-dbus-polkit).
check-dbus: $(INTEGRATION_BINS) $(BUILD)/asan/daemon/cvm-vmm $(BUILD)/tests/dbus/bus-big-write \
		$(BUILD)/tests/dbus/bus-flood
	@tests/run-suite.sh dbus tests/dbus/check-dbus.sh $(CVM_BUILD_DIR)

# polkit and the shipped bus policy, on a real system bus in the guest.
check-dbus-polkit: $(INTEGRATION_BINS)
	@tests/run-suite.sh dbus-polkit tests/vm/run-in-guest.sh --timeout 600 -- \
		tests/dbus/guest-polkit.sh $(CVM_BUILD_DIR)

# Each target's corpus replayed, then 20 s of fuzzing each (about 2 min).
FUZZ_TARGETS := request core vmm-answer bus-args config hook-xml
check-fuzz: $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/fuzz-%)
	@tests/run-suite.sh fuzz sh -c 'st=0; for t in $(FUZZ_TARGETS); do \
		tests/fuzz/replay.sh $(BUILD)/tests/fuzz/fuzz-$$t tests/fuzz/corpus/$$t 20 || st=1; \
		done; exit $$st'

# Three cvmd hosts in network namespaces, one cvmctl over mutual TLS
# (tests/fleet; about 15 s, budget 6 min).
check-fleet: $(INTEGRATION_BINS)
	@tests/run-suite.sh fleet timeout 360 tests/fleet/check-fleet.sh $(CVM_BUILD_DIR)

# cvmd under attack: hostile clients and faults against ASan builds.
check-hostile: $(ASAN_BINS) $(BUILD)/client/cvmctl
	@tests/run-suite.sh hostile tests/hostile/check-hostile.sh $(CVM_BUILD_DIR)

# GET /metrics (exact series, promtool, a real Prometheus) and signed
# launch reports (cvmctl attest / verify-report, openssl alone): about 40 s.
check-metrics: $(INTEGRATION_BINS) $(ASAN_BINS)
	@tests/run-suite.sh metrics sh -c 'st=0; \
		tests/metrics/metrics.sh $(CVM_BUILD_DIR) || st=1; \
		tests/metrics/attest.sh $(CVM_BUILD_DIR) || st=1; exit $$st'

# A new user's first run: `make run` and `make all` in a clean clone inside
# a minimal Debian 12 root (tests/fresh).
check-fresh:
	@tests/run-suite.sh fresh tests/fresh/check-fresh.sh $(CVM_BUILD_DIR)

# The packages on a booted Debian 12 with systemd as PID 1 (tests/system).
check-system:
	@tests/run-suite.sh system tests/system/check-system.sh $(CVM_BUILD_DIR)

check-vm: module $(BUILD)/tests/vm/cvm-ktest
	@tests/run-suite.sh vm tests/vm/run-in-guest.sh --timeout 900 -- \
		tests/vm/guest-check.sh $(CVM_BUILD_DIR)

# The debug kernel (KASAN, UBSAN, lockdep, kmemleak, fault injection; see
# tests/vm-debug/README.md): looked for in DEBUG_KERNEL_DIR (or the
# environment's CVM_DEBUG_KERNEL_DIR), then ../shared/debug-kernel beside the
# checkout, then DEBUG_KERNEL_OUT, where `make debug-kernel` puts it.
DEBUG_KERNEL_DIR ?= $(CVM_DEBUG_KERNEL_DIR)
DEBUG_KERNEL_OUT ?= /var/cache/cvm/debug-kernel
export CVM_DEBUG_KERNEL_DIR := $(DEBUG_KERNEL_DIR)
export CVM_DEBUG_KERNEL_OUT := $(DEBUG_KERNEL_OUT)
# The fuzzer's calls inside check-vm-debug (make fuzz-kmod runs the long one).
FUZZ_KMOD_CHECK_CALLS ?= 100000

# One boot of the debug kernel: the vm suite, the integration-kmod scenario
# and a bounded fuzzer run on a cvm.ko built for it, then every checker's
# reports and state. Skipped (neither pass nor fail) without a debug kernel.
# DEBUG_FULL=1: the scenario's table cells too (over half an hour longer).
check-vm-debug: $(BUILD)/tests/vm/cvm-ktest $(INTEGRATION_BINS) \
		$(if $(wildcard tests/fuzz-kmod/fuzz-kmod.c),$(BUILD)/tests/fuzz-kmod/fuzz-kmod)
	@tests/run-suite.sh vm-debug tests/vm-debug/run-debug.sh --timeout 1500 --expect-faults \
		--env FUZZ_KMOD_CHECK_CALLS=$(FUZZ_KMOD_CHECK_CALLS) \
		$(if $(DEBUG_FULL),--env CVM_DEBUG_FULL=1 --timeout 5400) -- \
		tests/vm-debug/guest-suite.sh $(CVM_BUILD_DIR)

# Build the debug kernel from Debian's linux-source-6.1 into DEBUG_KERNEL_OUT
# (about 31 minutes on 2 cores), or with DEBUG_KERNEL_FROM=DIR install the
# prebuilt .debs of DIR there after checking its SHA256SUMS.
debug-kernel:
	tests/vm-debug/build-debug-kernel.sh $(if $(DEBUG_KERNEL_FROM),--from $(DEBUG_KERNEL_FROM)) \
		$(DEBUG_KERNEL_OUT)

# cvm.ko for the debug kernel (KCOV-instrumented), in $(BUILD)/kmod-debug.
module-debug:
	@tests/vm-debug/prepare.sh $(CVM_BUILD_DIR) >/dev/null

# Every suite runs even when an earlier one fails; the summary decides.
check: deps
	@rm -rf $(BUILD)/results
	@$(MAKE) --no-print-directory all || true
	@for s in $(SUITES); do $(MAKE) --no-print-directory check-$$s || true; done
	@tests/summarize.sh $(SUITES)

$(BUILD)/tests/bench/bench-cvmd: tests/bench/bench-cvmd.c tests/bench/bench-stats.h $(PROTO_GEN) proto/cvm-frame.c proto/cvm-frame.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(PROTO_CFLAGS) -o $@ tests/bench/bench-cvmd.c $(PROTO_SRC) \
		-lprotobuf-c -lpthread

# The control plane: latency, throughput, durable transitions, 1,000 VMs.
bench-cvmd: deps $(INTEGRATION_BINS) $(BUILD)/tests/bench/bench-cvmd
	tests/bench/bench-cvmd.sh $(CVM_BUILD_DIR)

$(BUILD)/tests/bench/bench-dbus: tests/bench/bench-dbus.c tests/bench/bench-stats.h $(PROTO_GEN) proto/cvm-frame.c proto/cvm-frame.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(PROTO_CFLAGS) -o $@ tests/bench/bench-dbus.c $(PROTO_SRC) \
		-lsystemd -lprotobuf-c

# D-Bus: property read and read-only method vs an echo service, and the socket.
bench-dbus: deps $(INTEGRATION_BINS) $(BUILD)/tests/bench/bench-dbus
	tests/bench/bench-dbus.sh $(CVM_BUILD_DIR)

# GET /metrics with 1,000 VMs: exposition size, scrape time (figures).
bench-metrics: deps $(INTEGRATION_BINS)
	tests/metrics/bench-scrape.sh $(CVM_BUILD_DIR)

# The libvirt hook: invocation cost, and virsh start with and without it.
bench-hook: deps $(INTEGRATION_BINS) $(BUILD)/client/cvm-libvirt-hook
	tests/bench/bench-hook.sh $(CVM_BUILD_DIR)

# Benchmarks print figures; they never pass or fail on time.
bench: deps module $(BUILD)/tests/bench/bench-pin $(BUILD)/tests/bench/bench-secure
	tests/vm/run-in-guest.sh --mem 4096 --timeout 5400 \
		$(if $(BENCH_PIN_PARTS),--env 'CVM_BENCH_PIN_PARTS=$(BENCH_PIN_PARTS)') -- \
		tests/bench/guest-bench.sh $(CVM_BUILD_DIR) $(BENCH_WHICH)

format-check:
	@git diff -U0 --no-color HEAD -- '*.c' '*.h' | clang-format-diff -p1 | \
		{ ! grep -q . ; } || { echo "clang-format: changed lines differ" >&2; exit 1; }

clean:
	rm -rf $(BUILD)

.PHONY: fuzz-core-cov all userspace deps deps-build module run check check-unit check-vm bench fuzz-core \
	check-integration check-integration-kmod check-fuzz run-kmod demo-kmod bench-cvmd \
	check-dbus check-dbus-polkit bench-dbus check-hook check-libvirt bench-hook bench-secure \
	format-check clean bins install install-dkms deb rpm check-system check-fresh check-hostile \
	check-vm-debug debug-kernel module-debug fuzz-kmod fuzz-kmod-cov check-metrics bench-metrics

$(BUILD)/tests/bench/bench-fleet: tests/bench/bench-fleet.c tests/bench/bench-stats.h client/conn.c client/parse.c \
		$(CVMCTL_HDR) $(PROTO_GEN) proto/cvm-frame.c proto/cvm-frame.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(PROTO_CFLAGS) -Iclient -o $@ tests/bench/bench-fleet.c client/conn.c \
		client/parse.c $(PROTO_SRC) -lprotobuf-c -lssl -lcrypto -lpthread

# The remote API: TLS vs unix round trip, handshakes/s, fan-out list.
bench-fleet: deps $(INTEGRATION_BINS) $(BUILD)/tests/bench/bench-fleet
	tests/bench/bench-fleet.sh $(CVM_BUILD_DIR)
