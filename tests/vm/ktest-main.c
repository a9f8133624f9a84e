// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-main.c - cvm-ktest: the module's test suite. Run as root in a
 * kernel with cvm.ko loaded (tests/vm/guest-check.sh does that under QEMU).
 */
#include <errno.h>
#include <string.h>

#include "ktest.h"
#include "table.h"

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : CVM_DEV_PATH;
	/* A second argument runs that group only: "mm". */
	const char *only = argc > 2 ? argv[2] : NULL;
	int ret, failed = 0;

	ret = cvm_dev_open(dev, &kt_dev_fd);
	if (ret) {
		fprintf(stderr, "cvm-ktest: open %s: %s\n", dev, strerror(-ret));
		return 2;
	}
	if (only && !strcmp(only, "mm")) {
		failed += kt_run_mm();
		goto out;
	}
	failed += kt_run_input();
	/* The table tests, written once (tests/table), on the kmod backend. */
	failed += tt_run_tables(&cvm_backend_kmod, dev);
	failed += kt_run_pin();
	failed += kt_run_threads();
	failed += kt_run_secure();
	failed += kt_run_dma();
	failed += kt_run_stress();
	failed += kt_run_mm();
out:
	close(kt_dev_fd);
	return failed ? 1 : 0;
}
