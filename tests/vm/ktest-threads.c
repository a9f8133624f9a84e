// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-threads.c - concurrency: threads doing guest access on one VM,
 * lifecycle changes racing guest access, and a VM fd closed while another
 * thread is inside an ioctl on it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "ktest.h"

#define NPAGES 128
#define ROUNDS 200

struct writer {
	int fd;
	int parity;
	int errors;
};

/* Each thread owns the pages of one parity and checks what it wrote. */
static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	uint8_t out[64], in[64];
	int round, page;

	for (round = 0; round < ROUNDS; round++) {
		for (page = w->parity; page < NPAGES; page += 2) {
			memset(out, (uint8_t)(round * 7 + page), sizeof(out));
			if (cvm_dev_guest_write(w->fd, page * KT_PAGE + 100, out,
						sizeof(out)) ||
			    cvm_dev_guest_read(w->fd, page * KT_PAGE + 100, in,
					       sizeof(in)) ||
			    memcmp(in, out, sizeof(in)))
				w->errors++;
		}
	}
	return NULL;
}

static void test_two_threads_access(void **state)
{
	struct writer w[2];
	pthread_t t[2];
	struct kt_vm vm;
	uint8_t in[64];
	int i, page;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, NPAGES * KT_PAGE, 0, 0), 0);
	for (i = 0; i < 2; i++) {
		w[i] = (struct writer){ .fd = vm.fd, .parity = i };
		assert_int_equal(pthread_create(&t[i], NULL, writer_thread, &w[i]),
				 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	assert_int_equal(kt_stats(vm.fd).pinned_pages, NPAGES);
	for (page = 0; page < NPAGES; page++) {
		assert_int_equal(cvm_dev_guest_read(vm.fd, page * KT_PAGE + 100,
						    in, sizeof(in)), 0);
		assert_int_equal(in[0], (uint8_t)((ROUNDS - 1) * 7 + page));
	}
	kt_vm_free(&vm);
}

struct racer {
	int fd;
	atomic_bool stop;
	int bad;
};

static void *lifecycle_thread(void *arg)
{
	struct racer *r = arg;
	int ret;

	while (!atomic_load(&r->stop)) {
		ret = cvm_dev_lifecycle(r->fd, CVM_VM_OP_INIT_START);
		if (!ret)
			ret = cvm_dev_share(r->fd, 0, 4);
		if (!ret)
			ret = cvm_dev_lifecycle(r->fd, CVM_VM_OP_INIT_DONE);
		if (ret || cvm_dev_lifecycle(r->fd, CVM_VM_OP_TERMINATE))
			r->bad++;
	}
	return NULL;
}

static void test_lifecycle_races_access(void **state)
{
	struct racer r = { .bad = 0 };
	struct cvm_vm_stats st;
	uint8_t buf[4096 * 3];
	struct kt_vm vm;
	pthread_t t;
	int i;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 64 * KT_PAGE, 0, 0), 0);
	r.fd = vm.fd;
	atomic_init(&r.stop, false);
	assert_int_equal(pthread_create(&t, NULL, lifecycle_thread, &r), 0);
	for (i = 0; i < 2000; i++) {
		memset(buf, i, sizeof(buf));
		assert_int_equal(cvm_dev_guest_write(vm.fd, (i % 60) * KT_PAGE,
						     buf, sizeof(buf)), 0);
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	assert_int_equal(r.bad, 0);
	st = kt_stats(vm.fd);
	assert_int_equal(st.state, CVM_VM_NORMAL);
	assert_int_equal(st.normal_pages, 64);
	assert_int_equal(st.pinned_pages, 62);
	kt_vm_free(&vm);
}

struct closer {
	int fd;
	atomic_int calls;
	int last_err;
};

static void *reader_thread(void *arg)
{
	static uint8_t buf[CVM_ACCESS_MAX];
	struct closer *c = arg;
	int ret;

	do {
		ret = cvm_dev_guest_read(c->fd, 0, buf, sizeof(buf));
		atomic_fetch_add(&c->calls, 1);
	} while (!ret);
	c->last_err = ret;
	return NULL;
}

static void test_close_during_ioctl(void **state)
{
	struct cvm_info info = kt_info();
	struct timespec ts = { 0, 1000000 };
	struct closer c = { .last_err = 0 };
	struct kt_vm vm;
	pthread_t t;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 2 * KT_MIB, 0, 0), 0);
	c.fd = vm.fd;
	atomic_init(&c.calls, 0);
	assert_int_equal(pthread_create(&t, NULL, reader_thread, &c), 0);
	/* Close once the reader is busy in its ioctl loop. */
	while (atomic_load(&c.calls) < 20)
		nanosleep(&ts, NULL);
	assert_int_equal(close(vm.fd), 0);
	vm.fd = -1;
	pthread_join(t, NULL);
	assert_int_equal(c.last_err, -EBADF);
	kt_vm_free(&vm);
	/* the in-flight ioctl held the file; release ran after it */
	assert_int_equal(kt_info().nr_vms, info.nr_vms);
	assert_int_equal(kt_info().pinned_pages, info.pinned_pages);
}

int kt_run_threads(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_threads_access),
		cmocka_unit_test(test_lifecycle_races_access),
		cmocka_unit_test(test_close_during_ioctl),
	};

	return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
