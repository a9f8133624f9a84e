// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-secure.c - the confidentiality contract (DESIGN §3) in a real
 * kernel: what the guest and the host read in each GFN state, the content
 * rules of each transition, AES-GCM tamper/swap/replay detection, the
 * launch measurement and snapshots.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <openssl/evp.h>

#include "ktest.h"

static uint8_t pattern[4096], page_buf[4096];

static void fill_pattern(uint8_t seed)
{
	size_t i;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Does the pattern appear anywhere in the page, even in part? */
static bool has_pattern_chunk(const uint8_t *p)
{
	size_t i;

	for (i = 0; i + 16 <= 4096; i += 16)
		if (!memcmp(p + i, pattern + i, 16))
			return true;
	return false;
}

static const uint8_t *guest_view(struct kt_vm *vm, uint64_t page)
{
	assert_int_equal(cvm_dev_guest_read(vm->fd, page * KT_PAGE, page_buf,
					    KT_PAGE), 0);
	return page_buf;
}

static const uint8_t *host_view(struct kt_vm *vm, uint64_t page)
{
	return vm->mem + page * KT_PAGE;
}

static void start_with_pattern(struct kt_vm *vm, size_t pages, uint64_t page,
			       uint8_t seed)
{
	fill_pattern(seed);
	assert_int_equal(kt_vm_new(vm, pages * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm->fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_guest_write(vm->fd, page * KT_PAGE, pattern,
					     KT_PAGE), 0);
}

/* Row "normal" and row "shared": both sides see the host page. */
static void test_view_normal_and_shared(void **state)
{
	struct kt_vm vm;

	(void)state;
	start_with_pattern(&vm, 4, 0, 1);
	assert_memory_equal(guest_view(&vm, 0), pattern, KT_PAGE);
	assert_memory_equal(host_view(&vm, 0), pattern, KT_PAGE);
	assert_int_equal(cvm_dev_share(vm.fd, KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_guest_write(vm.fd, KT_PAGE, pattern, KT_PAGE), 0);
	assert_memory_equal(guest_view(&vm, 1), pattern, KT_PAGE);
	assert_memory_equal(host_view(&vm, 1), pattern, KT_PAGE);
	/* and the host's writes reach the guest */
	vm.mem[KT_PAGE + 5] ^= 0xff;
	assert_int_equal(guest_view(&vm, 1)[5], pattern[5] ^ 0xff);
	kt_vm_free(&vm);
}

/* Row "secure, resident": guest sees its data, host sees zeros. */
static void test_view_secure_resident(void **state)
{
	struct kt_vm vm;

	(void)state;
	start_with_pattern(&vm, 4, 2, 2);
	assert_int_equal(cvm_dev_page_in(vm.fd, 2 * KT_PAGE, false), 0);
	/* scrubbed before the call returned */
	assert_true(all_zero(host_view(&vm, 2), KT_PAGE));
	assert_memory_equal(guest_view(&vm, 2), pattern, KT_PAGE);
	/* the guest's later writes stay in secure memory */
	fill_pattern(3);
	assert_int_equal(cvm_dev_guest_write(vm.fd, 2 * KT_PAGE, pattern,
					     KT_PAGE), 0);
	assert_true(all_zero(host_view(&vm, 2), KT_PAGE));
	assert_memory_equal(guest_view(&vm, 2), pattern, KT_PAGE);
	/* and the host's writes don't reach the guest */
	memset(vm.mem + 2 * KT_PAGE, 0x66, KT_PAGE);
	assert_memory_equal(guest_view(&vm, 2), pattern, KT_PAGE);
	kt_vm_free(&vm);
}

/* Row "secure, paged out": host sees ciphertext, guest its data. */
static void test_view_secure_paged_out(void **state)
{
	struct cvm_vm_stats st;
	struct kt_vm vm;

	(void)state;
	start_with_pattern(&vm, 4, 1, 4);
	assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, KT_PAGE), 0);
	st = kt_stats(vm.fd);
	assert_int_equal(st.secure_paged_out, 1);
	assert_int_equal(st.pool_pages, 0);
	assert_false(all_zero(host_view(&vm, 1), KT_PAGE));
	assert_false(has_pattern_chunk(host_view(&vm, 1)));
	/* a guest access pages it back in */
	assert_memory_equal(guest_view(&vm, 1), pattern, KT_PAGE);
	st = kt_stats(vm.fd);
	assert_int_equal(st.secure_paged_out, 0);
	assert_int_equal(st.pool_pages, 1);
	assert_true(all_zero(host_view(&vm, 1), KT_PAGE));
	/* the same bytes sealed twice give different ciphertexts */
	{
		static uint8_t first[4096];

		assert_int_equal(cvm_dev_page_out(vm.fd, KT_PAGE), 0);
		memcpy(first, host_view(&vm, 1), KT_PAGE);
		assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), 0);
		assert_int_equal(cvm_dev_page_out(vm.fd, KT_PAGE), 0);
		assert_memory_not_equal(first, host_view(&vm, 1), KT_PAGE);
	}
	kt_vm_free(&vm);
}

/* unshare and INIT_DONE keep the data and scrub the host copy too. */
static void test_unshare_and_init_done_keep_data(void **state)
{
	struct kt_vm vm;

	(void)state;
	start_with_pattern(&vm, 4, 0, 5);
	assert_int_equal(cvm_dev_guest_write(vm.fd, 3 * KT_PAGE, pattern,
					     KT_PAGE), 0);
	assert_int_equal(cvm_dev_share(vm.fd, 0, 1), 0);
	assert_int_equal(cvm_dev_unshare(vm.fd, 0, 1), 0);
	assert_true(all_zero(host_view(&vm, 0), KT_PAGE));
	assert_memory_equal(guest_view(&vm, 0), pattern, KT_PAGE);
	/* page 3 is touched and normal: INIT_DONE moves it */
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_DONE), 0);
	assert_true(all_zero(host_view(&vm, 3), KT_PAGE));
	assert_memory_equal(guest_view(&vm, 3), pattern, KT_PAGE);
	/* an untouched page became secure without a copy: reads as zeros */
	vm.mem[2 * KT_PAGE] = 0x77;
	assert_true(all_zero(guest_view(&vm, 2), KT_PAGE));
	kt_vm_free(&vm);
}

/* secure -> shared discards: zeros on both sides, never the data. */
static void test_share_discards(void **state)
{
	struct kt_vm vm;
	int paged;

	(void)state;
	for (paged = 0; paged < 2; paged++) {
		start_with_pattern(&vm, 4, 0, 6);
		assert_int_equal(cvm_dev_page_in(vm.fd, 0, false), 0);
		if (paged)
			assert_int_equal(cvm_dev_page_out(vm.fd, 0), 0);
		assert_int_equal(cvm_dev_share(vm.fd, 0, 1), 0);
		assert_true(all_zero(host_view(&vm, 0), KT_PAGE));
		assert_true(all_zero(guest_view(&vm, 0), KT_PAGE));
		assert_int_equal(kt_stats(vm.fd).pool_pages, 0);
		kt_vm_free(&vm);
	}
}

/* secure -> normal (abort, terminate): the host page reads as zeros. */
static void test_abort_terminate_discard(void **state)
{
	enum cvm_vm_op ops[2] = { CVM_VM_OP_INIT_ABORT, CVM_VM_OP_TERMINATE };
	struct cvm_info base = kt_info();
	struct kt_vm vm;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		start_with_pattern(&vm, 4, 0, 7);
		assert_int_equal(cvm_dev_guest_write(vm.fd, KT_PAGE, pattern,
						     KT_PAGE), 0);
		assert_int_equal(cvm_dev_page_in(vm.fd, 0, false), 0);
		assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), 0);
		assert_int_equal(cvm_dev_page_out(vm.fd, KT_PAGE), 0);
		assert_int_equal(cvm_dev_lifecycle(vm.fd, ops[i]), 0);
		assert_true(all_zero(host_view(&vm, 0), KT_PAGE));
		assert_true(all_zero(host_view(&vm, 1), KT_PAGE));
		assert_true(all_zero(guest_view(&vm, 0), KT_PAGE));
		assert_int_equal(kt_info().pool_free_pages, base.pool_free_pages);
		kt_vm_free(&vm);
	}
}

/* One byte flipped, another GFN's ciphertext, an older ciphertext. */
static void test_tamper_swap_replay(void **state)
{
	static uint8_t old[4096];
	struct kt_vm vm;
	uint8_t *h0, *h1;

	(void)state;
	start_with_pattern(&vm, 4, 0, 8);
	assert_int_equal(cvm_dev_guest_write(vm.fd, KT_PAGE, pattern, KT_PAGE), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 0, false), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, 0), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, KT_PAGE), 0);
	h0 = vm.mem;
	h1 = vm.mem + KT_PAGE;

	/* flip one byte: integrity error, still paged out, access fails */
	h0[1234] ^= 0x01;
	assert_int_equal(cvm_dev_page_in(vm.fd, 0, false), -EBADMSG);
	assert_int_equal(kt_stats(vm.fd).secure_paged_out, 2);
	assert_int_equal(cvm_dev_guest_read(vm.fd, 0, page_buf, 16), -EBADMSG);
	assert_int_equal(kt_stats(vm.fd).pool_pages, 0);
	/* put it back: it was that byte, nothing else */
	h0[1234] ^= 0x01;
	assert_int_equal(cvm_dev_page_in(vm.fd, 0, false), 0);
	assert_memory_equal(guest_view(&vm, 0), pattern, KT_PAGE);
	assert_int_equal(cvm_dev_page_out(vm.fd, 0), 0);

	/* page 0's ciphertext over page 1 */
	memcpy(old, h1, KT_PAGE);
	memcpy(h1, h0, KT_PAGE);
	assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), -EBADMSG);
	memcpy(h1, old, KT_PAGE);

	/* an older ciphertext of the same page */
	assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, KT_PAGE), 0);
	assert_memory_not_equal(old, h1, KT_PAGE);
	memcpy(h1, old, KT_PAGE);
	assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), -EBADMSG);
	assert_int_equal(kt_stats(vm.fd).secure_paged_out, 2);
	kt_vm_free(&vm);
}

static void sha_page(EVP_MD_CTX *ctx, uint64_t gpa, const uint8_t *page)
{
	uint8_t le[8];
	int i;

	for (i = 0; i < 8; i++)
		le[i] = (uint8_t)(gpa >> (8 * i));
	assert_int_equal(EVP_DigestUpdate(ctx, le, sizeof(le)), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, page, KT_PAGE), 1);
}

/*
 * The measurement covers, in order, each page that entered secure memory
 * from the host while transient: page-ins as called, then INIT_DONE's
 * touched normal pages in GFN order.
 */
static void test_measurement(void **state)
{
	static uint8_t pages[4][4096];
	uint8_t expect[CVM_DIGEST_SIZE];
	struct cvm_measurement m;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct kt_vm vm;
	int i;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 8 * KT_PAGE, 0, 0), 0);
	for (i = 0; i < 4; i++) {
		memset(pages[i], 'a' + i, KT_PAGE);
		assert_int_equal(cvm_dev_guest_write(vm.fd, i * KT_PAGE, pages[i],
						     KT_PAGE), 0);
	}
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 2 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 0, false), 0);
	assert_int_equal(cvm_dev_measurement(vm.fd, &m), 0);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.nr_pages, 2);
	assert_true(all_zero(m.digest, sizeof(m.digest)));
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_DONE), 0);
	assert_int_equal(cvm_dev_measurement(vm.fd, &m), 0);
	assert_int_equal(m.flags, CVM_MEASUREMENT_SEALED);
	assert_int_equal(m.nr_pages, 4);
	assert_int_equal(kt_stats(vm.fd).measured_pages, 4);

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	sha_page(ctx, 2 * KT_PAGE, pages[2]);
	sha_page(ctx, 0, pages[0]);
	sha_page(ctx, 1 * KT_PAGE, pages[1]);
	sha_page(ctx, 3 * KT_PAGE, pages[3]);
	assert_int_equal(EVP_DigestFinal_ex(ctx, expect, NULL), 1);
	EVP_MD_CTX_free(ctx);
	assert_memory_equal(m.digest, expect, sizeof(expect));

	/* sealed: later guest writes and conversions don't change it */
	assert_int_equal(cvm_dev_guest_write(vm.fd, 5 * KT_PAGE, pages[0], 64), 0);
	assert_int_equal(cvm_dev_share(vm.fd, 6 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_unshare(vm.fd, 6 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_measurement(vm.fd, &m), 0);
	assert_memory_equal(m.digest, expect, sizeof(expect));
	/* a new launch starts a new measurement */
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_TERMINATE), 0);
	assert_int_equal(cvm_dev_measurement(vm.fd, &m), 0);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.nr_pages, 0);
	kt_vm_free(&vm);
}

/*
 * The same guest gives the same measurement whatever the pinning mode:
 * INIT_DONE moves the pages the guest touched, not every page pinned.
 */
static void test_measurement_pin_mode(void **state)
{
	struct cvm_measurement m[2];
	struct kt_vm vm;
	int mode;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		assert_int_equal(kt_vm_new(&vm, 16 * KT_PAGE, 0,
					   mode ? CVM_MEMSLOT_UPFRONT : 0), 0);
		assert_int_equal(cvm_dev_guest_write(vm.fd, 3 * KT_PAGE, "boot", 4),
				 0);
		assert_int_equal(cvm_dev_guest_write(vm.fd, 9 * KT_PAGE, "data", 4),
				 0);
		assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
		assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_DONE), 0);
		assert_int_equal(cvm_dev_measurement(vm.fd, &m[mode]), 0);
		assert_int_equal(m[mode].nr_pages, 2);
		assert_int_equal(kt_stats(vm.fd).pool_pages, 2);
		assert_int_equal(kt_stats(vm.fd).pinned_pages, mode ? 16 : 2);
		kt_vm_free(&vm);
	}
	assert_memory_equal(m[0].digest, m[1].digest, CVM_DIGEST_SIZE);
}

/* The snapshot agrees with the counters; a short buffer says its size. */
static void test_snapshot(void **state)
{
	static struct cvm_gfn_info e[64];
	struct cvm_vm_stats st;
	uint64_t normal = 0, shared = 0, secure = 0, paged = 0, pinned = 0;
	uint32_t n = 0, i;
	struct kt_vm vm;
	uint8_t *extra;

	(void)state;
	start_with_pattern(&vm, 32, 3, 9);
	/* a second slot: entries follow GFN order across slots */
	extra = mmap(NULL, 8 * KT_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(extra != MAP_FAILED);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_ABORT), 0);
	assert_int_equal(cvm_dev_set_memslot(vm.fd, 1, 1 * KT_MIB, 8 * KT_PAGE,
					     extra, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_share(vm.fd, 4 * KT_PAGE, 3), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 3 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 10 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, 10 * KT_PAGE), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 5 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 5 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_DONE), 0);

	assert_int_equal(cvm_dev_snapshot(vm.fd, e, 10, &n), -ENOSPC);
	assert_int_equal(n, 40);
	assert_int_equal(cvm_dev_snapshot(vm.fd, e, 64, &n), 0);
	assert_int_equal(n, 40);
	st = kt_stats(vm.fd);
	for (i = 0; i < n; i++) {
		/* GFN order across slots */
		if (i)
			assert_true(e[i].gfn > e[i - 1].gfn);
		normal += e[i].state == CVM_GFN_STATE_NORMAL;
		shared += e[i].state == CVM_GFN_STATE_SHARED;
		secure += e[i].state == CVM_GFN_STATE_SECURE;
		paged += !!(e[i].flags & CVM_GFN_PAGED_OUT);
		pinned += !!(e[i].flags & CVM_GFN_PINNED);
	}
	assert_int_equal(normal, st.normal_pages);
	assert_int_equal(shared, st.shared_pages);
	assert_int_equal(secure, st.secure_pages);
	assert_int_equal(paged, st.secure_paged_out);
	assert_int_equal(pinned, st.pinned_pages);
	assert_int_equal(e[5].dma_refs, 2);
	assert_int_equal(e[5].state, CVM_GFN_STATE_SHARED);
	assert_int_equal(e[3].flags & CVM_GFN_RESIDENT, CVM_GFN_RESIDENT);
	assert_int_equal(e[10].flags & CVM_GFN_PAGED_OUT, CVM_GFN_PAGED_OUT);
	assert_int_equal(e[32].gfn, KT_MIB / KT_PAGE);
	munmap(extra, 8 * KT_PAGE);
	kt_vm_free(&vm);
}

int kt_run_secure(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_normal_and_shared),
		cmocka_unit_test(test_view_secure_resident),
		cmocka_unit_test(test_view_secure_paged_out),
		cmocka_unit_test(test_unshare_and_init_done_keep_data),
		cmocka_unit_test(test_share_discards),
		cmocka_unit_test(test_abort_terminate_discard),
		cmocka_unit_test(test_tamper_swap_replay),
		cmocka_unit_test(test_measurement),
		cmocka_unit_test(test_measurement_pin_mode),
		cmocka_unit_test(test_snapshot),
	};

	return cmocka_run_group_tests_name("secure", tests, NULL, NULL);
}
