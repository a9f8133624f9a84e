// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-main.c - cvm-ktest: the module's test suite. Run as root in a
 * kernel with cvm.ko loaded (tests/vm/guest-check.sh does that under QEMU).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ktest.h"
#include "table.h"

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : CVM_DEV_PATH;
	const char *only;
	int ret, failed = 0;

	ret = cvm_dev_open(dev, &kt_dev_fd);
	if (ret) {
		fprintf(stderr, "cvm-ktest: open %s: %s\n", dev, strerror(-ret));
		return 2;
	}
	/*
	 * One group alone (while iterating): a second argument, or
	 * CVM_KTEST_ONLY=<group>.
	 */
	only = argc > 2 ? argv[2] : getenv("CVM_KTEST_ONLY");
#define KT_GROUP(name, call)                      \
	do {                                      \
		if (!only || !strcmp(only, name)) \
			failed += (call);         \
	} while (0)
	KT_GROUP("input", kt_run_input());
	/* The table tests, written once (tests/table), on the kmod backend. */
	KT_GROUP("tables", tt_run_tables(&cvm_backend_kmod, dev));
	KT_GROUP("pin", kt_run_pin());
	KT_GROUP("threads", kt_run_threads());
	KT_GROUP("secure", kt_run_secure());
	KT_GROUP("dma", kt_run_dma());
	KT_GROUP("stress", kt_run_stress());
	KT_GROUP("bounds", kt_run_bounds());
	KT_GROUP("mm", kt_run_mm());
#undef KT_GROUP
	close(kt_dev_fd);
	return failed ? 1 : 0;
}
