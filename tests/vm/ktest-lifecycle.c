// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-lifecycle.c - every cell of the VM lifecycle table and of the GFN
 * table through the ioctls of a real cvm.ko, one test per cell, with the
 * documented errno for each refused cell and the state left unchanged.
 */
#include <errno.h>
#include <string.h>

#include "ktest.h"

#define REFUSED (-EBADFD)
#define NOT_STARTED (-EOPNOTSUPP)

/* Bring a fresh VM into a lifecycle state. */
static void drive_vm(int fd, enum cvm_vm_state to)
{
	if (to == CVM_VM_NORMAL)
		return;
	assert_int_equal(cvm_dev_lifecycle(fd, CVM_VM_OP_INIT_START), 0);
	if (to == CVM_VM_SECURE)
		assert_int_equal(cvm_dev_lifecycle(fd, CVM_VM_OP_INIT_DONE), 0);
	assert_int_equal(kt_stats(fd).state, to);
}

struct vm_cell {
	enum cvm_vm_state from;
	enum cvm_vm_op op;
	int err;
	enum cvm_vm_state to;
};

/* "start VM" has no ioctl (the VMM runs the VM): covered by tests/unit. */
static const struct vm_cell vm_cells[] = {
	{ CVM_VM_NORMAL, CVM_VM_OP_INIT_START, 0, CVM_VM_TRANSIENT },
	{ CVM_VM_NORMAL, CVM_VM_OP_INIT_DONE, NOT_STARTED, CVM_VM_NORMAL },
	{ CVM_VM_NORMAL, CVM_VM_OP_INIT_ABORT, NOT_STARTED, CVM_VM_NORMAL },
	{ CVM_VM_NORMAL, CVM_VM_OP_TERMINATE, 0, CVM_VM_NORMAL },
	{ CVM_VM_SECURE, CVM_VM_OP_INIT_START, REFUSED, CVM_VM_SECURE },
	{ CVM_VM_SECURE, CVM_VM_OP_INIT_DONE, REFUSED, CVM_VM_SECURE },
	{ CVM_VM_SECURE, CVM_VM_OP_INIT_ABORT, REFUSED, CVM_VM_SECURE },
	{ CVM_VM_SECURE, CVM_VM_OP_TERMINATE, 0, CVM_VM_NORMAL },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_INIT_START, REFUSED, CVM_VM_TRANSIENT },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_INIT_DONE, 0, CVM_VM_SECURE },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_INIT_ABORT, 0, CVM_VM_NORMAL },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_TERMINATE, 0, CVM_VM_NORMAL },
};

static void test_vm_cell(void **state)
{
	const struct vm_cell *c = *state;
	struct kt_vm vm;
	struct cvm_vm_stats st;

	assert_int_equal(kt_vm_new(&vm, 16 * KT_PAGE, 0, 0), 0);
	drive_vm(vm.fd, c->from);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, c->op), c->err);
	st = kt_stats(vm.fd);
	assert_int_equal(st.state, c->to);
	/* Every GFN follows: normal VM -> all normal, secure -> all secure. */
	if (c->to == CVM_VM_NORMAL)
		assert_int_equal(st.normal_pages, 16);
	if (c->to == CVM_VM_SECURE)
		assert_int_equal(st.secure_pages, 16);
	kt_vm_free(&vm);
}

/* GFN ops as ioctls; DROP is both INIT_ABORT and TERMINATE. */
enum gfn_ioctl { G_SHARE, G_UNSHARE, G_ABORT, G_TERMINATE, G_INIT_DONE,
		 G_PAGE_IN, G_PAGE_IN_SHARED, G_PAGE_OUT, G_NR };
static const char *const gfn_ioctl_names[G_NR] = {
	"share", "unshare", "init-abort", "terminate", "init-done",
	"page-in", "page-in-shared", "page-out",
};

struct gfn_cell {
	enum cvm_gfn_state from;
	enum gfn_ioctl op;
	int err;
	enum cvm_gfn_state to;
};

#define S CVM_GFN_SECURE
#define P CVM_GFN_SECURE_PAGED_OUT
#define H CVM_GFN_SHARED
#define N CVM_GFN_NORMAL
static const struct gfn_cell gfn_cells[] = {
	{ S, G_SHARE, 0, H }, { S, G_UNSHARE, 0, S }, { S, G_ABORT, 0, N },
	{ S, G_TERMINATE, 0, N }, { S, G_INIT_DONE, 0, S },
	{ S, G_PAGE_IN, REFUSED, S }, { S, G_PAGE_IN_SHARED, 0, H },
	{ S, G_PAGE_OUT, 0, P },
	{ P, G_SHARE, 0, H }, { P, G_UNSHARE, 0, P }, { P, G_ABORT, 0, N },
	{ P, G_TERMINATE, 0, N }, { P, G_INIT_DONE, 0, P },
	{ P, G_PAGE_IN, 0, S }, { P, G_PAGE_IN_SHARED, 0, H },
	{ P, G_PAGE_OUT, REFUSED, P },
	{ H, G_SHARE, 0, H }, { H, G_UNSHARE, 0, S }, { H, G_ABORT, 0, N },
	{ H, G_TERMINATE, 0, N }, { H, G_INIT_DONE, 0, H },
	{ H, G_PAGE_IN, 0, S }, { H, G_PAGE_IN_SHARED, 0, H },
	{ H, G_PAGE_OUT, REFUSED, H },
	{ N, G_SHARE, 0, H }, { N, G_UNSHARE, 0, S }, { N, G_ABORT, 0, N },
	{ N, G_TERMINATE, 0, N }, { N, G_INIT_DONE, 0, S },
	{ N, G_PAGE_IN, 0, S }, { N, G_PAGE_IN_SHARED, 0, H },
	{ N, G_PAGE_OUT, REFUSED, N },
};
#undef S
#undef P
#undef H
#undef N

/* The state of the single GFN of a one-page VM, from the counters. */
static enum cvm_gfn_state one_gfn_state(int fd)
{
	struct cvm_vm_stats st = kt_stats(fd);

	assert_int_equal(st.nr_pages, 1);
	assert_int_equal(st.normal_pages + st.shared_pages + st.secure_pages,
			 1);
	if (st.secure_paged_out)
		return CVM_GFN_SECURE_PAGED_OUT;
	if (st.secure_pages)
		return CVM_GFN_SECURE;
	return st.shared_pages ? CVM_GFN_SHARED : CVM_GFN_NORMAL;
}

static void drive_gfn(int fd, enum cvm_gfn_state to)
{
	switch (to) {
	case CVM_GFN_NORMAL:
		break;
	case CVM_GFN_SHARED:
		assert_int_equal(cvm_dev_share(fd, 0, 1), 0);
		break;
	case CVM_GFN_SECURE_PAGED_OUT:
		assert_int_equal(cvm_dev_page_in(fd, 0, false), 0);
		assert_int_equal(cvm_dev_page_out(fd, 0), 0);
		break;
	case CVM_GFN_SECURE:
		assert_int_equal(cvm_dev_page_in(fd, 0, false), 0);
		break;
	}
	assert_int_equal(one_gfn_state(fd), to);
}

static int gfn_ioctl(int fd, enum gfn_ioctl op)
{
	switch (op) {
	case G_SHARE:
		return cvm_dev_share(fd, 0, 1);
	case G_UNSHARE:
		return cvm_dev_unshare(fd, 0, 1);
	case G_ABORT:
		return cvm_dev_lifecycle(fd, CVM_VM_OP_INIT_ABORT);
	case G_TERMINATE:
		return cvm_dev_lifecycle(fd, CVM_VM_OP_TERMINATE);
	case G_INIT_DONE:
		return cvm_dev_lifecycle(fd, CVM_VM_OP_INIT_DONE);
	case G_PAGE_IN:
		return cvm_dev_page_in(fd, 0, false);
	case G_PAGE_IN_SHARED:
		return cvm_dev_page_in(fd, 0, true);
	case G_PAGE_OUT:
		return cvm_dev_page_out(fd, 0);
	case G_NR:
		break;
	}
	return -EINVAL;
}

static void test_gfn_cell(void **state)
{
	const struct gfn_cell *c = *state;
	struct kt_vm vm;

	/* GFN states other than normal exist only in a started VM. */
	assert_int_equal(kt_vm_new(&vm, KT_PAGE, 0, 0), 0);
	drive_vm(vm.fd, CVM_VM_TRANSIENT);
	drive_gfn(vm.fd, c->from);
	assert_int_equal(gfn_ioctl(vm.fd, c->op), c->err);
	assert_int_equal(one_gfn_state(vm.fd), c->to);
	kt_vm_free(&vm);
}

/* Page operations in a normal VM: "not started", distinct errno. */
static void test_page_ops_not_started(void **state)
{
	struct kt_vm vm;
	int i;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 4 * KT_PAGE, 0, 0), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(cvm_dev_page_in(vm.fd, 0, false), -EOPNOTSUPP);
		assert_int_equal(cvm_dev_page_in(vm.fd, 0, true), -EOPNOTSUPP);
		assert_int_equal(cvm_dev_page_out(vm.fd, 0), -EOPNOTSUPP);
		assert_int_equal(cvm_dev_share(vm.fd, 0, 2), -EOPNOTSUPP);
		assert_int_equal(cvm_dev_unshare(vm.fd, 0, 2), -EOPNOTSUPP);
		assert_int_equal(kt_stats(vm.fd).normal_pages, 4);
		/* Again after a full INIT_START .. TERMINATE round. */
		drive_vm(vm.fd, CVM_VM_SECURE);
		assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_TERMINATE),
				 0);
	}
	kt_vm_free(&vm);
}

/*
 * A 64 MiB VM: INIT_DONE turns every normal GFN secure (touched or not),
 * keeps shared and paged-out ones; TERMINATE makes all normal.
 */
static void test_init_done_counts(void **state)
{
	const uint64_t npages = 64 * KT_MIB / KT_PAGE;
	struct cvm_vm_stats st;
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 64 * KT_MIB, 0, 0), 0);
	assert_int_equal(kt_touch(vm.fd, 100, 10), 0);
	drive_vm(vm.fd, CVM_VM_TRANSIENT);
	assert_int_equal(cvm_dev_share(vm.fd, 10 * KT_PAGE, 3), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 20 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 21 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, 21 * KT_PAGE), 0);
	st = kt_stats(vm.fd);
	assert_int_equal(st.normal_pages, npages - 5);
	assert_int_equal(st.shared_pages, 3);
	assert_int_equal(st.secure_pages, 2);
	assert_int_equal(st.secure_paged_out, 1);

	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_DONE), 0);
	st = kt_stats(vm.fd);
	assert_int_equal(st.state, CVM_VM_SECURE);
	assert_int_equal(st.normal_pages, 0);
	assert_int_equal(st.shared_pages, 3);
	assert_int_equal(st.secure_pages, npages - 3);
	assert_int_equal(st.secure_paged_out, 1);
	/* In a secure VM, unshare makes shared pages secure again. */
	assert_int_equal(cvm_dev_unshare(vm.fd, 10 * KT_PAGE, 3), 0);
	assert_int_equal(kt_stats(vm.fd).secure_pages, npages);

	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_TERMINATE), 0);
	st = kt_stats(vm.fd);
	assert_int_equal(st.normal_pages, npages);
	assert_int_equal(st.secure_pages + st.shared_pages, 0);
	kt_vm_free(&vm);
}

/* A range share that meets a refused GFN changes nothing at all. */
static void test_range_all_or_nothing(void **state)
{
	struct cvm_vm_stats st;
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 16 * KT_PAGE, 0, 0), 0);
	drive_vm(vm.fd, CVM_VM_TRANSIENT);
	assert_int_equal(cvm_dev_page_in(vm.fd, 5 * KT_PAGE, false), 0);
	/* Range running past the memslot's end: -ERANGE, nothing shared. */
	assert_int_equal(cvm_dev_share(vm.fd, 10 * KT_PAGE, 7), -ERANGE);
	st = kt_stats(vm.fd);
	assert_int_equal(st.shared_pages, 0);
	assert_int_equal(st.secure_pages, 1);
	assert_int_equal(cvm_dev_share(vm.fd, 0, 16), 0);
	assert_int_equal(kt_stats(vm.fd).shared_pages, 16);
	kt_vm_free(&vm);
}

static char *cell_name(const char *table, const char *from, const char *op,
		       int err, const char *to)
{
	char *name = NULL;

	if (err)
		assert_true(asprintf(&name, "%s %s x %s -> refused (%s)", table,
				     from, op, strerror(-err)) > 0);
	else
		assert_true(asprintf(&name, "%s %s x %s -> %s", table, from, op,
				     to) > 0);
	return name;
}

int kt_run_lifecycle(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_page_ops_not_started),
		cmocka_unit_test(test_init_done_counts),
		cmocka_unit_test(test_range_all_or_nothing),
	};
	size_t nvm = sizeof(vm_cells) / sizeof(vm_cells[0]);
	size_t ngfn = sizeof(gfn_cells) / sizeof(gfn_cells[0]);
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(nvm + ngfn + nfixed, sizeof(*tests));
	size_t i, n = 0;
	int failed;

	for (i = 0; i < nvm; i++, n++) {
		tests[n].name = cell_name("vm", cvm_vm_state_name(vm_cells[i].from),
					  cvm_vm_op_name(vm_cells[i].op),
					  vm_cells[i].err,
					  cvm_vm_state_name(vm_cells[i].to));
		tests[n].test_func = test_vm_cell;
		tests[n].initial_state = (void *)&vm_cells[i];
	}
	for (i = 0; i < ngfn; i++, n++) {
		tests[n].name = cell_name("gfn",
					  cvm_gfn_state_name(gfn_cells[i].from),
					  gfn_ioctl_names[gfn_cells[i].op],
					  gfn_cells[i].err,
					  cvm_gfn_state_name(gfn_cells[i].to));
		tests[n].test_func = test_gfn_cell;
		tests[n].initial_state = (void *)&gfn_cells[i];
	}
	for (i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];
	failed = _cmocka_run_group_tests("lifecycle", tests, n, NULL, NULL);
	for (i = 0; i < nvm + ngfn; i++)
		free((char *)tests[i].name);
	free(tests);
	return failed;
}
