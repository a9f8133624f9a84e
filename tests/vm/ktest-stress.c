// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-stress.c - pool exhaustion with eviction, and four threads doing
 * random page operations and guest access on one VM.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "ktest.h"

/* The guest-check script loads the module with a 16 MiB pool. */
static void test_pool_exhaustion_evicts(void **state)
{
	struct cvm_info base = kt_info();
	uint64_t npages = base.pool_total_pages + 512, i;
	struct cvm_vm_stats st;
	struct kt_vm vm;
	uint64_t word;

	(void)state;
	assert_true(base.pool_total_pages > 0);
	assert_int_equal(base.pool_free_pages, base.pool_total_pages);
	assert_int_equal(kt_vm_new(&vm, npages * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	for (i = 0; i < npages; i++) {
		word = i * 0x9e3779b97f4a7c15ULL;
		assert_int_equal(cvm_dev_guest_write(vm.fd, i * KT_PAGE, &word,
						     sizeof(word)), 0);
		assert_int_equal(cvm_dev_page_in(vm.fd, i * KT_PAGE, false), 0);
	}
	st = kt_stats(vm.fd);
	assert_int_equal(st.secure_pages, npages);
	assert_int_equal(st.pool_pages, base.pool_total_pages);
	assert_int_equal(st.secure_paged_out, 512);
	assert_int_equal(st.evictions, 512);
	assert_int_equal(kt_info().pool_free_pages, 0);
	assert_int_equal(kt_info().evictions, base.evictions + 512);
	/* every page still reads back, paging in and evicting as it goes */
	for (i = 0; i < npages; i++) {
		assert_int_equal(cvm_dev_guest_read(vm.fd, i * KT_PAGE, &word,
						    sizeof(word)), 0);
		assert_true(word == i * 0x9e3779b97f4a7c15ULL);
	}
	/* a second VM takes pool pages from the first by eviction */
	{
		struct kt_vm other;

		assert_int_equal(kt_vm_new(&other, 64 * KT_PAGE, 0, 0), 0);
		assert_int_equal(cvm_dev_lifecycle(other.fd,
						   CVM_VM_OP_INIT_START), 0);
		assert_int_equal(kt_touch(other.fd, 0, 64), 0);
		assert_int_equal(cvm_dev_unshare(other.fd, 0, 64), 0);
		assert_int_equal(kt_stats(other.fd).pool_pages, 64);
		kt_vm_free(&other);
	}
	kt_vm_free(&vm);
	assert_int_equal(kt_info().pool_free_pages, base.pool_total_pages);
	assert_int_equal(kt_info().pinned_pages, base.pinned_pages);
	assert_int_equal(kt_info().nr_vms, base.nr_vms);
}

#define NTHREADS 4
#define NPAGES 256
#define SECONDS 3

enum { N, H, S, P };	/* tracked GFN state: normal, shared, secure, paged */

struct worker {
	int fd;
	int id;
	unsigned int seed;
	uint8_t state[NPAGES];
	uint8_t value[NPAGES];	/* what the guest should read at the page */
	int errors;
	long ops;
};

static int expect(struct worker *w, int got, int want)
{
	if (got != want) {
		w->errors++;
		fprintf(stderr, "thread %d: got %d, want %d\n", w->id, got, want);
	}
	return got;
}

/* Each thread owns the pages p with p % NTHREADS == id. */
static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	time_t end = time(NULL) + SECONDS;
	int p, op, ret;
	uint64_t gpa;
	uint8_t b;

	while (time(NULL) < end) {
		p = (rand_r(&w->seed) % (NPAGES / NTHREADS)) * NTHREADS + w->id;
		gpa = (uint64_t)p * KT_PAGE;
		op = rand_r(&w->seed) % 6;
		w->ops++;
		switch (op) {
		case 0:	/* guest write */
			b = (uint8_t)rand_r(&w->seed);
			if (!expect(w, cvm_dev_guest_write(w->fd, gpa + 7, &b, 1),
				    0))
				w->value[p] = b;
			if (w->state[p] == P)
				w->state[p] = S;
			break;
		case 1:	/* guest read */
			ret = expect(w, cvm_dev_guest_read(w->fd, gpa + 7, &b, 1),
				     0);
			if (!ret && b != w->value[p]) {
				w->errors++;
				fprintf(stderr, "page %d: read %u, want %u\n", p,
					b, w->value[p]);
			}
			if (w->state[p] == P)
				w->state[p] = S;
			break;
		case 2:	/* page-in */
			ret = cvm_dev_page_in(w->fd, gpa, false);
			expect(w, ret, w->state[p] == S ? -EBADFD : 0);
			w->state[p] = S;
			break;
		case 3:	/* page-out */
			ret = cvm_dev_page_out(w->fd, gpa);
			expect(w, ret, w->state[p] == S ? 0 : -EBADFD);
			if (!ret)
				w->state[p] = P;
			break;
		case 4:	/* share: secure contents are discarded */
			expect(w, cvm_dev_share(w->fd, gpa, 1), 0);
			if (w->state[p] == S || w->state[p] == P)
				w->value[p] = 0;
			w->state[p] = H;
			break;
		case 5:	/* unshare: contents kept */
			expect(w, cvm_dev_unshare(w->fd, gpa, 1), 0);
			if (w->state[p] != P)
				w->state[p] = S;
			break;
		}
	}
	return NULL;
}

static void test_four_threads_random(void **state)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct cvm_vm_stats st;
	uint64_t secure = 0;
	struct kt_vm vm;
	long ops = 0;
	int i, p;
	uint8_t b;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, NPAGES * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	for (i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].fd = vm.fd;
		w[i].id = i;
		w[i].seed = 1234 + i;
		assert_int_equal(pthread_create(&t[i], NULL, worker_thread, &w[i]),
				 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].errors, 0);
		ops += w[i].ops;
	}
	print_message("four threads: %ld operations in %d s\n", ops, SECONDS);
	st = kt_stats(vm.fd);
	assert_int_equal(st.normal_pages + st.shared_pages + st.secure_pages,
			 NPAGES);
	for (p = 0; p < NPAGES; p++)
		secure += w[p % NTHREADS].state[p] == S ||
			  w[p % NTHREADS].state[p] == P;
	assert_int_equal(st.secure_pages, secure);
	for (p = 0; p < NPAGES; p++) {
		assert_int_equal(cvm_dev_guest_read(vm.fd, p * KT_PAGE + 7, &b, 1),
				 0);
		assert_int_equal(b, w[p % NTHREADS].value[p]);
	}
	kt_vm_free(&vm);
}

int kt_run_stress(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_exhaustion_evicts),
		cmocka_unit_test(test_four_threads_random),
	};

	return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
