// SPDX-License-Identifier: GPL-2.0
/*
 * bench-pin.c - what demand pinning saves at VM setup, and what a demand
 * pin costs per page (see README.md).
 *
 *   bench-pin [DEVICE [PART...]]   (default /dev/cvm and every part; runs as
 *                                   root in the guest)
 *
 * PART: "setup" (1% of each size touched), "same-set" (the same pages at
 * every size), "per-page"; the upfront rows of the setup tables take most
 * of the time under emulation.
 *
 * Prints figures only. It exits non-zero when an operation fails, never
 * because something was slow.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cvm-dev.h"

#define PAGE		4096UL
#define MIB		(1024UL * 1024)
#define RUNS		5	/* the median of 5 the issue asks for */
#define TOUCH_PERMILLE	10	/* 1% of the pages, spread evenly */
#define PER_PAGE_N	16384UL	/* 64 MiB for the per-page costs */
#define FAULT_AROUND	16	/* pages a first touch pins on the new row */
#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * With transparent huge pages, the first touch of a 4 KiB page faults in
 * (and a pin then holds) its whole 2 MiB folio, so touching 1% of the
 * pages spread evenly populates all of the memory. "demand-4k" is demand
 * pinning over memory madvised MADV_NOHUGEPAGE, where 1% stays 1%.
 */
static const struct mode {
	const char *name;
	uint32_t slot_flags;
	bool no_thp;
} modes[] = {
	{ "demand", 0, false },
	{ "demand-4k", 0, true },
	{ "upfront", CVM_MEMSLOT_UPFRONT, false },
};

static const size_t sizes[] = { 256 * MIB, 1024 * MIB, 2048 * MIB };
#define NR_MODES ARRAY_LEN(modes)
#define NR_SIZES ARRAY_LEN(sizes)

static int dev_fd = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts the samples; the caller reads min and max from them too. */
static uint64_t median(uint64_t *ns, int n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	return ns[n / 2];
}

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static const char *errname(int err)
{
	const char *name = strerrorname_np(-err);

	return name ? name : "?";
}

/* Guest memory as the tests and a VMM make it: never touched before. */
static void *map_fresh(size_t size, bool no_thp)
{
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (mem == MAP_FAILED)
		return NULL;
	if (no_thp && madvise(mem, size, MADV_NOHUGEPAGE)) {
		munmap(mem, size);
		return NULL;
	}
	return mem;
}

/*
 * A fresh VM with one memslot (id 0) at GPA 0 over mem; fault_around pages
 * in a run (CVM_MEMSLOT_FAULT_AROUND), 0 for none.
 */
static int vm_new(void *mem, size_t size, uint32_t flags,
		  uint32_t fault_around, int *ret_fd)
{
	int ret, fd;

	ret = cvm_dev_create_vm(dev_fd, 0, &fd);
	if (ret)
		return ret;
	if (fault_around)
		flags |= CVM_MEMSLOT_FAULT_AROUND;
	ret = cvm_dev_set_memslot_around(fd, 0, 0, size, mem, flags,
					 fault_around);
	if (ret) {
		close(fd);
		return ret;
	}
	*ret_fd = fd;
	return 0;
}

/*
 * One VM setup, timed from create to INIT_DONE: the work a host does
 * before a confidential guest can run. Tear-down is not timed. The pages
 * touched are 1% of the first @span bytes, spread evenly: @span is @size
 * for "1% of the memory", or the smallest size for "the same pages at
 * every size" (a guest touches what it boots, not a share of its memory).
 */
static int time_setup(const struct mode *mode, size_t size, size_t span,
		      uint64_t *ret_ns, struct cvm_vm_stats *ret_st)
{
	uint64_t npages = span / PAGE;
	uint64_t ntouch = npages * TOUCH_PERMILLE / 1000, i, t0;
	uint8_t byte = 0x5a;
	int ret, fd = -1;
	void *mem;

	mem = map_fresh(size, mode->no_thp);
	if (!mem)
		return -errno;
	t0 = now_ns();
	ret = vm_new(mem, size, mode->slot_flags, 0, &fd);
	if (!ret)
		ret = cvm_dev_lifecycle(fd, CVM_VM_OP_INIT_START);
	for (i = 0; !ret && i < ntouch; i++)
		ret = cvm_dev_guest_write(fd, i * npages / ntouch * PAGE,
					  &byte, 1);
	if (!ret)
		ret = cvm_dev_lifecycle(fd, CVM_VM_OP_INIT_DONE);
	*ret_ns = now_ns() - t0;

	if (!ret)
		ret = cvm_dev_stats(fd, ret_st);
	if (fd >= 0)
		close(fd);
	munmap(mem, size);
	return ret;
}

/*
 * The setup table, in two rows: 1% of each size touched (what the first
 * version measured), and the same pages - those 1% of the smallest size
 * touches - at every size, the workload the demand-pinning series measured
 * (a guest touches what it boots). Its t(2 GiB)/t(256 MiB) is the figure
 * to compare with the series' (4 -> 192 GB: upfront x4.0, demand x1.19).
 */
static int bench_setup(bool same_set)
{
	double t[NR_MODES][NR_SIZES];
	struct cvm_vm_stats st = {};
	uint64_t ns[RUNS];
	unsigned int m, s;
	size_t span;
	int r, ret;

	if (same_set)
		printf("\nVM setup, same touched set: create + memslot + INIT_START + touch the %lu pages 1%% of %zu MiB touches + INIT_DONE, median of %d\n\n",
		       sizes[0] / PAGE * TOUCH_PERMILLE / 1000, sizes[0] / MIB,
		       RUNS);
	else
		printf("VM setup, 1%% of the size: create + memslot + INIT_START + touch 1%% of pages + INIT_DONE, median of %d\n\n",
		       RUNS);
	printf("%-10s %6s %11s %11s %11s %9s %9s\n", "mode", "size",
	       "median ms", "min ms", "max ms", "pinned", "evicted");
	for (m = 0; m < NR_MODES; m++) {
		for (s = 0; s < NR_SIZES; s++) {
			span = same_set ? sizes[0] : sizes[s];
			for (r = 0; r < RUNS; r++) {
				ret = time_setup(&modes[m], sizes[s], span,
						 &ns[r], &st);
				if (ret) {
					fprintf(stderr, "bench-pin: %s %zu MiB setup: %s\n",
						modes[m].name, sizes[s] / MIB,
						errname(ret));
					return ret;
				}
			}
			t[m][s] = ms(median(ns, RUNS));
			/* pinned and evicted: of the last run */
			printf("%-10s %5zuM %11.1f %11.1f %11.1f %9llu %9llu\n",
			       modes[m].name, sizes[s] / MIB, t[m][s],
			       ms(ns[0]), ms(ns[RUNS - 1]),
			       (unsigned long long)st.pinned_pages,
			       (unsigned long long)st.evictions);
		}
	}

	printf("\nratio t(%zuM)/t(%zuM), medians (%s):\n",
	       sizes[NR_SIZES - 1] / MIB, sizes[0] / MIB,
	       same_set ? "same touched set" : "1% of the size");
	for (m = 0; m < NR_MODES; m++)
		printf("  %-10s %7.2f\n", modes[m].name,
		       t[m][NR_SIZES - 1] / t[m][0]);
	/* The absolute saving, which the size ratios alone do not show. */
	printf("ratio t(mode)/t(%s), medians:\n", modes[NR_MODES - 1].name);
	for (m = 0; m < NR_MODES - 1; m++)
		for (s = 0; s < NR_SIZES; s++)
			printf("  %-10s %5zuM %7.3f\n", modes[m].name,
			       sizes[s] / MIB, t[m][s] / t[NR_MODES - 1][s]);
	return 0;
}

/*
 * Demand pin: one 1-byte guest write (one ioctl) into each page of a fresh
 * VM, whose memslot pins the touched page alone or, with fault_around,
 * the aligned run around a first touch.
 */
static int time_guest_writes(void *mem, uint32_t fault_around,
			     uint64_t *ret_ns)
{
	uint8_t byte = 0x5a;
	uint64_t i, t0;
	int ret, fd;

	ret = vm_new(mem, PER_PAGE_N * PAGE, 0, fault_around, &fd);
	if (ret)
		return ret;
	t0 = now_ns();
	for (i = 0; !ret && i < PER_PAGE_N; i++)
		ret = cvm_dev_guest_write(fd, i * PAGE, &byte, 1);
	*ret_ns = now_ns() - t0;
	close(fd);
	return ret;
}

static int time_demand_pin(void *mem, uint64_t *ret_ns)
{
	return time_guest_writes(mem, 0, ret_ns);
}

static int time_fault_around(void *mem, uint64_t *ret_ns)
{
	return time_guest_writes(mem, FAULT_AROUND, ret_ns);
}

/*
 * Fault-around as a guest meets it: only a page that is not mapped yet
 * exits to the module (the first touch of each run, one ioctl); the run's
 * other pages are pinned and mapped by then, and the guest writes them
 * without an exit.
 */
static int time_around_exits(void *mem, uint64_t *ret_ns)
{
	volatile uint8_t *p = mem;
	uint8_t byte = 0x5a;
	uint64_t i, t0;
	int ret, fd;

	ret = vm_new(mem, PER_PAGE_N * PAGE, 0, FAULT_AROUND, &fd);
	if (ret)
		return ret;
	t0 = now_ns();
	for (i = 0; !ret && i < PER_PAGE_N; i++) {
		if (i % FAULT_AROUND)
			p[i * PAGE] = byte;
		else
			ret = cvm_dev_guest_write(fd, i * PAGE, &byte, 1);
	}
	*ret_ns = now_ns() - t0;
	close(fd);
	return ret;
}

static int time_mlock(void *mem, uint64_t *ret_ns)
{
	uint64_t t0 = now_ns();

	if (mlock(mem, PER_PAGE_N * PAGE))
		return -errno;
	*ret_ns = now_ns() - t0;
	munlock(mem, PER_PAGE_N * PAGE);
	return 0;
}

static int time_first_touch(void *mem, uint64_t *ret_ns)
{
	volatile uint8_t *p = mem;
	uint64_t i, t0 = now_ns();

	for (i = 0; i < PER_PAGE_N; i++)
		p[i * PAGE] = 0x5a;
	*ret_ns = now_ns() - t0;
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void *mem, uint64_t *ret_ns);
} per_page[] = {
	{ "demand pin", time_demand_pin },
	{ "fault-around", time_fault_around },
	{ "around exits", time_around_exits },
	{ "mlock", time_mlock },
	{ "first touch", time_first_touch },
};
enum { PP_DEMAND, PP_AROUND, PP_AROUND_EXITS, PP_MLOCK, PP_TOUCH };
#define NR_PER_PAGE ARRAY_LEN(per_page)

/*
 * The operations take turns, run by run, so that a slow spell of the
 * (shared, emulated) machine falls on all of them rather than on one.
 */
static int bench_per_page(void)
{
	/* A module without it gives the other rows (a "before" figure). */
	bool around = cvm_dev_check_extension(dev_fd, CVM_CAP_FAULT_AROUND) > 0;
	uint64_t ns[NR_PER_PAGE][RUNS];
	double t[NR_PER_PAGE];
	unsigned int k, huge;
	int r, ret;
	void *mem;

	printf("\nper-page cost: %lu fresh pages (%lu MiB) each, median of %d, the operations\n"
	       "taking turns; demand pin and fault-around: one 1-byte guest write (ioctl)\n"
	       "per page, fault-around with runs of %d pages (CVM_MEMSLOT_FAULT_AROUND);\n"
	       "around exits: the same runs, but only a page not yet mapped exits (one\n"
	       "ioctl per run), the others written as a guest writes mapped memory\n",
	       PER_PAGE_N, PER_PAGE_N * PAGE / MIB, RUNS, FAULT_AROUND);
	for (huge = 0; huge < 2; huge++) {
		for (r = 0; r < RUNS; r++) {
			for (k = 0; k < NR_PER_PAGE; k++) {
				if ((k == PP_AROUND || k == PP_AROUND_EXITS) &&
				    !around)
					continue;
				mem = map_fresh(PER_PAGE_N * PAGE, !huge);
				if (!mem)
					return -errno;
				ret = per_page[k].fn(mem, &ns[k][r]);
				munmap(mem, PER_PAGE_N * PAGE);
				if (ret) {
					fprintf(stderr, "bench-pin: %s: %s\n",
						per_page[k].name, errname(ret));
					return ret;
				}
			}
		}
		printf("\n%-12s %-5s %12s %12s %12s\n", "operation", "pages",
		       "median ns/pg", "min ns/pg", "max ns/pg");
		for (k = 0; k < NR_PER_PAGE; k++) {
			if ((k == PP_AROUND || k == PP_AROUND_EXITS) &&
			    !around) {
				printf("%-12s %-5s (no CVM_CAP_FAULT_AROUND)\n",
				       per_page[k].name, huge ? "THP" : "4k");
				continue;
			}
			t[k] = (double)median(ns[k], RUNS) / PER_PAGE_N;
			printf("%-12s %-5s %12.0f %12.0f %12.0f\n",
			       per_page[k].name, huge ? "THP" : "4k", t[k],
			       (double)ns[k][0] / PER_PAGE_N,
			       (double)ns[k][RUNS - 1] / PER_PAGE_N);
		}
		/*
		 * Medians, and minimums: on a loaded machine the fastest run
		 * is the one least disturbed.
		 */
		printf("%-33s %8s %8s\n", "ratio", "medians", "minimums");
		printf("%-33s %8.2f %8.2f\n", "demand pin / mlock",
		       t[PP_DEMAND] / t[PP_MLOCK],
		       (double)ns[PP_DEMAND][0] / ns[PP_MLOCK][0]);
		printf("%-33s %8.2f %8.2f\n", "demand pin / first touch",
		       t[PP_DEMAND] / t[PP_TOUCH],
		       (double)ns[PP_DEMAND][0] / ns[PP_TOUCH][0]);
		if (!around)
			continue;
		printf("%-33s %8.2f %8.2f\n", "fault-around / mlock",
		       t[PP_AROUND] / t[PP_MLOCK],
		       (double)ns[PP_AROUND][0] / ns[PP_MLOCK][0]);
		printf("%-33s %8.2f %8.2f\n", "fault-around / first touch",
		       t[PP_AROUND] / t[PP_TOUCH],
		       (double)ns[PP_AROUND][0] / ns[PP_TOUCH][0]);
		printf("%-33s %8.2f %8.2f\n", "around exits / mlock",
		       t[PP_AROUND_EXITS] / t[PP_MLOCK],
		       (double)ns[PP_AROUND_EXITS][0] / ns[PP_MLOCK][0]);
		printf("%-33s %8.2f %8.2f\n", "around exits / first touch",
		       t[PP_AROUND_EXITS] / t[PP_TOUCH],
		       (double)ns[PP_AROUND_EXITS][0] / ns[PP_TOUCH][0]);
	}
	return 0;
}

/* What the figures depend on: THP mode and the secure pool above all. */
static void print_context(const char *dev)
{
	char thp[128] = "?";
	struct cvm_info info;
	struct utsname u;
	FILE *f;

	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	if (f) {
		if (fgets(thp, sizeof(thp), f))
			thp[strcspn(thp, "\n")] = '\0';
		fclose(f);
	}
	if (cvm_dev_info(dev_fd, &info))
		memset(&info, 0, sizeof(info));
	uname(&u);
	printf("bench-pin: %s API %d, secure pool %llu MiB; kernel %s, %ld CPUs, %ld MiB RAM, THP %s\n",
	       dev, cvm_dev_api_version(dev_fd),
	       (unsigned long long)(info.pool_total_pages * PAGE / MIB),
	       u.release, sysconf(_SC_NPROCESSORS_ONLN),
	       sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / (long)MIB,
	       thp);
}

/* Is PART asked for (every part when none is named)? */
static bool want(int argc, char **argv, const char *part)
{
	int i;

	if (argc <= 2)
		return true;
	for (i = 2; i < argc; i++)
		if (!strcmp(argv[i], part))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	const char *dev = argc > 1 ? argv[1] : CVM_DEV_PATH;
	int i, ret = 0;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "setup") && strcmp(argv[i], "same-set") &&
		    strcmp(argv[i], "per-page")) {
			fprintf(stderr, "bench-pin: unknown part %s (setup, same-set, per-page)\n",
				argv[i]);
			return 2;
		}
	}

	/* Root has CAP_IPC_LOCK anyway; this matters only without it. */
	if (setrlimit(RLIMIT_MEMLOCK, &unlimited))
		fprintf(stderr, "bench-pin: RLIMIT_MEMLOCK stays: %s\n",
			strerror(errno));
	ret = cvm_dev_open(dev, &dev_fd);
	if (ret) {
		fprintf(stderr, "bench-pin: %s: %s\n", dev, strerror(-ret));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	print_context(dev);
	putchar('\n');
	if (want(argc, argv, "setup"))
		ret = bench_setup(false);
	if (!ret && want(argc, argv, "same-set"))
		ret = bench_setup(true);
	if (!ret && want(argc, argv, "per-page"))
		ret = bench_per_page();
	close(dev_fd);
	return ret ? 1 : 0;
}
