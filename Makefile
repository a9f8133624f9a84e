# cvm - top-level build. `make run` shows the product working; `make check`
# runs every test suite. Both install what they need first (Debian 12).

BUILD ?= build
export CVM_BUILD_DIR := $(abspath $(BUILD))

CC ?= gcc
CFLAGS ?= -O2 -g
CVM_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-Ikmod -Idaemon/libcvm $(CFLAGS)
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

# The kernel cvm.ko is built for and tested in (see tests/vm/README.md).
KVER ?= $(shell tests/vm/kver.sh 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build

LIBCVM_SRC := daemon/libcvm/cvm-dev.c kmod/cvm_fsm.c
LIBCVM_HDR := daemon/libcvm/cvm-dev.h kmod/cvm_fsm.h kmod/uapi/cvm.h
KMOD_SRC := $(wildcard kmod/*.c kmod/*.h kmod/uapi/*.h) kmod/Kbuild
KTEST_SRC := $(wildcard tests/vm/ktest-*.c)
KTEST_HDR := $(wildcard tests/vm/ktest*.h)

SUITES := unit vm

all: userspace module

userspace: $(BUILD)/tests/unit/test-fsm $(BUILD)/tests/vm/cvm-ktest \
	$(BUILD)/tests/vm/cvm-demo $(BUILD)/tests/bench/bench-pin \
	$(BUILD)/tests/bench/bench-secure

deps:
	@packaging/install-deps.sh build vm

# Kbuild writes next to the sources: build from a copy under $(BUILD).
module: $(BUILD)/kmod/cvm.ko
$(BUILD)/kmod/cvm.ko: $(KMOD_SRC)
	@test -n "$(KVER)" || { echo "no Debian kernel build tree: run 'make deps'" >&2; exit 1; }
	@mkdir -p $(BUILD)/kmod/uapi
	cp kmod/*.c kmod/*.h kmod/Kbuild $(BUILD)/kmod/
	cp kmod/uapi/*.h $(BUILD)/kmod/uapi/
	$(MAKE) -C $(KDIR) M=$(abspath $(BUILD)/kmod) modules

# Unit tests always run under ASan + UBSan.
$(BUILD)/tests/unit/test-fsm: tests/unit/test-fsm.c kmod/cvm_fsm.c kmod/cvm_fsm.h
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) $(SANITIZE) -o $@ tests/unit/test-fsm.c kmod/cvm_fsm.c -lcmocka

# The in-kernel suite runs inside the guest, on the host's libraries.
$(BUILD)/tests/vm/cvm-ktest: $(KTEST_SRC) $(KTEST_HDR) $(LIBCVM_SRC) $(LIBCVM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -Itests/vm -o $@ $(KTEST_SRC) $(LIBCVM_SRC) -lcmocka -lpthread -lcrypto

$(BUILD)/tests/vm/cvm-demo: tests/vm/demo.c $(LIBCVM_SRC) $(LIBCVM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -o $@ tests/vm/demo.c $(LIBCVM_SRC)

$(BUILD)/tests/bench/bench-pin: tests/bench/bench-pin.c $(LIBCVM_SRC) $(LIBCVM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -o $@ tests/bench/bench-pin.c $(LIBCVM_SRC) -lm

$(BUILD)/tests/bench/bench-secure: tests/bench/bench-secure.c $(LIBCVM_SRC) $(LIBCVM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CVM_CFLAGS) -o $@ tests/bench/bench-secure.c $(LIBCVM_SRC) -lcrypto

# Main job (until the daemon exists): a short demo of cvm.ko in the guest.
run: deps module $(BUILD)/tests/vm/cvm-demo
	tests/vm/run-in-guest.sh --timeout 300 -- tests/vm/guest-demo.sh $(CVM_BUILD_DIR)

check-unit: $(BUILD)/tests/unit/test-fsm
	@tests/run-suite.sh unit $(BUILD)/tests/unit/test-fsm

check-vm: module $(BUILD)/tests/vm/cvm-ktest
	@tests/run-suite.sh vm tests/vm/run-in-guest.sh --timeout 900 -- \
		tests/vm/guest-check.sh $(CVM_BUILD_DIR)

# Every suite runs even when an earlier one fails; the summary decides.
check: deps
	@rm -rf $(BUILD)/results
	@$(MAKE) --no-print-directory all || true
	@for s in $(SUITES); do $(MAKE) --no-print-directory check-$$s || true; done
	@tests/summarize.sh $(SUITES)

# Benchmarks print figures; they never pass or fail on time.
bench: deps module $(BUILD)/tests/bench/bench-pin $(BUILD)/tests/bench/bench-secure
	tests/vm/run-in-guest.sh --mem 4096 --timeout 1800 -- \
		tests/bench/guest-bench.sh $(CVM_BUILD_DIR)

format-check:
	@git diff -U0 --no-color HEAD -- '*.c' '*.h' | clang-format-diff -p1 | \
		{ ! grep -q . ; } || { echo "clang-format: changed lines differ" >&2; exit 1; }

clean:
	rm -rf $(BUILD)

.PHONY: all userspace deps module run check check-unit check-vm bench \
	format-check clean
