// SPDX-License-Identifier: GPL-2.0
/*
 * bench-secure - secure-memory throughput and INIT_DONE scaling of cvm.ko
 * (in the guest, tests/bench/guest-bench.sh) or of the simulator's same
 * core on the host, without emulation (`make bench-secure`); prints
 * figures, never passes or fails on time.
 *
 *   bench-secure [DEVICE]     cvm.ko (default /dev/cvm)
 *   bench-secure --sim        the sim backend, in this process
 *
 * 1. Over 64 MiB: page-in (host -> pool copy + scrub), page-out (AES-GCM
 *    seal into the host page), page-in of paged-out pages (verify +
 *    decrypt), one ioctl per page; and, in the same run, the baseline: a
 *    plain copy of the same bytes and an AES-256-GCM encryption of them
 *    (OpenSSL, 4 KiB at a time). Reports page-out / (copy + encrypt).
 * 2. INIT_DONE alone, with 1% of pages touched, for 256 MiB and 2 GiB.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "backend.h"

#define PAGE 4096UL
#define MIB (1024UL * 1024)
#define RUNS 5

/* The backend under test, and its device (kmod). */
static const struct cvm_backend_ops *ops = &cvm_backend_kmod;
static const char *dev_path;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-secure: %s: %s\n", what, strerror(-err));
	exit(1);
}

struct vm {
	struct cvm_backend *b;
	uint8_t *mem;
	size_t size;
};

static void vm_new(struct vm *vm, size_t size)
{
	struct cvm_backend_config cfg = {
		.memory_bytes = size,
		.dev_path = dev_path,
		/* the sim's own pool: 64 MiB page in without eviction */
		.sim_pool_pages = 96 * MIB / PAGE,
	};
	int ret;

	vm->size = size;
	vm->mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap", -errno);
	cfg.mem = vm->mem;
	ret = ops->create(&cfg, &vm->b);
	if (ret)
		die("create VM", ret);
}

static void vm_free(struct vm *vm)
{
	ops->destroy(vm->b);
	munmap(vm->mem, vm->size);
}

struct phase {
	const char *name;
	double t[RUNS];
};

static void page_loop(struct vm *vm, unsigned long npages, int which)
{
	unsigned long i;
	int ret = 0;

	for (i = 0; i < npages && !ret; i++)
		ret = ops->page_op(vm->b, which ? CVM_PAGE_OP_OUT : CVM_PAGE_OP_IN,
				   i * PAGE, 1);
	if (ret)
		die(which ? "page-out" : "page-in", ret);
}

static void bench_throughput(void)
{
	const size_t size = 64 * MIB;
	const unsigned long npages = size / PAGE;
	struct phase in = { .name = "page-in (copy+scrub)" },
		     out = { .name = "page-out (seal)" },
		     back = { .name = "page-in (verify+open)" },
		     copy = { .name = "baseline: copy" },
		     enc = { .name = "baseline: AES-256-GCM" };
	struct phase *all[] = { &in, &out, &back, &copy, &enc };
	unsigned char key[32] = { 1 }, iv[12] = { 2 }, tag[16];
	uint8_t *src, *dst;
	EVP_CIPHER_CTX *ctx;
	unsigned long i;
	double t0, m_out, m_base;
	struct vm vm;
	int r, len;
	size_t k;

	src = malloc(size);
	dst = malloc(size + 16);
	ctx = EVP_CIPHER_CTX_new();
	if (!src || !dst || !ctx)
		die("alloc", -ENOMEM);
	for (k = 0; k < size; k++)
		src[k] = (uint8_t)(k * 131 + (k >> 12));

	for (r = 0; r < RUNS; r++) {
		vm_new(&vm, size);
		memcpy(vm.mem, src, size);
		if (ops->lifecycle(vm.b, CVM_VM_OP_INIT_START))
			die("init-start", -EINVAL);
		t0 = now();
		page_loop(&vm, npages, 0);
		in.t[r] = now() - t0;
		t0 = now();
		page_loop(&vm, npages, 1);
		out.t[r] = now() - t0;
		t0 = now();
		page_loop(&vm, npages, 0);
		back.t[r] = now() - t0;
		vm_free(&vm);

		t0 = now();
		for (i = 0; i < npages; i++)
			memcpy(dst + i * PAGE, src + i * PAGE, PAGE);
		copy.t[r] = now() - t0;
		t0 = now();
		for (i = 0; i < npages; i++) {
			iv[0] = (unsigned char)i;
			if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
					       iv) != 1 ||
			    EVP_EncryptUpdate(ctx, NULL, &len, iv, 12) != 1 ||
			    EVP_EncryptUpdate(ctx, dst + i * PAGE, &len,
					      src + i * PAGE, PAGE) != 1 ||
			    EVP_EncryptFinal_ex(ctx, dst, &len) != 1 ||
			    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
						tag) != 1)
				die("EVP", -EIO);
		}
		enc.t[r] = now() - t0;
	}

	printf("\n== secure memory throughput (%s): 64 MiB, %lu pages, median of %d ==\n",
	       ops->name, npages, RUNS);
	printf("%-26s %10s %12s %10s\n", "phase", "ms", "pages/s", "MB/s");
	for (k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		double m = median(all[k]->t, RUNS);

		printf("%-26s %10.1f %12.0f %10.1f\n", all[k]->name, m * 1e3,
		       npages / m, size / m / 1e6);
	}
	m_out = median(out.t, RUNS);
	m_base = median(copy.t, RUNS) + median(enc.t, RUNS);
	printf("page-out / (copy + encrypt) throughput ratio: %.2f (target >= 0.8)\n",
	       m_base / m_out);
	/* page-in of paged-out pages: verify + decrypt + copy, same baseline */
	printf("page-in (verify+open) / (copy + encrypt) throughput ratio: %.2f\n",
	       m_base / median(back.t, RUNS));
	printf("page-in (copy+scrub) / copy throughput ratio: %.2f\n",
	       median(copy.t, RUNS) / median(in.t, RUNS));
	EVP_CIPHER_CTX_free(ctx);
	free(src);
	free(dst);
}

/* One INIT_DONE with one page in every `step` touched beforehand. */
static double init_done_once(size_t size, unsigned long step)
{
	unsigned long npages = size / PAGE, i;
	struct vm vm;
	uint8_t b = 1;
	double t0, t;

	vm_new(&vm, size);
	for (i = 0; i < npages; i += step)
		if (ops->guest_access(vm.b, i * PAGE, &b, 1, true))
			die("guest-write", -EIO);
	if (ops->lifecycle(vm.b, CVM_VM_OP_INIT_START))
		die("init-start", -EIO);
	t0 = now();
	if (ops->lifecycle(vm.b, CVM_VM_OP_INIT_DONE))
		die("init-done", -EIO);
	t = now() - t0;
	vm_free(&vm);
	return t;
}

/*
 * step 100: 1% of pages touched (the figure: 8x the touched pages
 * at 2 GiB); fixed: the same 655 touched pages at both sizes, which
 * isolates the dependence on memory size itself.
 */
static void bench_init_done(const char *title, unsigned long step_256,
			    unsigned long step_2g)
{
	const size_t sizes[2] = { 256 * MIB, 2048 * MIB };
	const unsigned long steps[2] = { step_256, step_2g };
	double t[2][RUNS], m[2];
	int s, r;

	for (s = 0; s < 2; s++)
		for (r = 0; r < RUNS; r++)
			t[s][r] = init_done_once(sizes[s], steps[s]);
	printf("\n== INIT_DONE alone, %s, median of %d ==\n", title, RUNS);
	for (s = 0; s < 2; s++) {
		m[s] = median(t[s], RUNS);
		printf("%5zu MiB, %6lu pages touched: %8.2f ms (min %.2f, max %.2f)\n",
		       sizes[s] / MIB, (sizes[s] / PAGE + steps[s] - 1) / steps[s],
		       m[s] * 1e3, t[s][0] * 1e3, t[s][RUNS - 1] * 1e3);
	}
	printf("t(2 GiB) / t(256 MiB) = %.2f\n", m[1] / m[0]);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--sim"))
		ops = &cvm_backend_sim;
	else if (argc > 1)
		dev_path = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_throughput();
	bench_init_done("1% of pages touched", 100, 100);
	bench_init_done("the same 655 pages touched at both sizes", 100, 800);
	return 0;
}
