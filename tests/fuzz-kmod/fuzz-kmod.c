// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-kmod.c - random ioctl sequences against cvm.ko from several threads.
 *
 * Every ioctl of /dev/cvm and of VM fds, with boundary values, bad pointers
 * and reserved fields set, interleaved with munmap/mremap/mprotect/madvise
 * of memslot memory, fork with the fds held, VM fds closed under other
 * threads, and (where debugfs has it) fault injection aimed at the module.
 * An error return is never a failure. Failures are: the module's counters
 * or the process's VmLck not back to their baseline once every VM of a
 * round is closed (exit 1), a call that does not return within the
 * watchdog's timeout (exit 3); the kernel log is the caller's to check.
 * Each thread draws from its own PRNG, derived from the seed, the round
 * and its index: --seed S replays a run (exactly with --threads 1).
 *
 * With --kcov FILE, each thread collects KCOV_TRACE_PC coverage and the
 * distinct PCs inside cvm.ko (offsets from the module's base) go to FILE.
 * --kcov-run FILE -- COMMAND... collects the same for COMMAND's main thread.
 * See tests/fuzz-kmod/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/kcov.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uapi/cvm.h"

#define PAGE		4096ULL
#define MAX_THREADS	32
#define MAX_VMS		32
#define RING		32
#define NERR		134	/* histogram slots: 0 = success, 1..133 = errno */
#define BUF_SIZE	(CVM_ACCESS_MAX + 2 * PAGE)
#define COVER_SIZE	(1UL << 16)
#define PCSET_SIZE	(1U << 16)

enum op {
	OP_API_VERSION, OP_CHECK_EXT, OP_CREATE_VM, OP_GET_INFO,
	OP_SET_MEMSLOT, OP_DEL_MEMSLOT, OP_INIT_START, OP_INIT_DONE,
	OP_INIT_ABORT, OP_TERMINATE, OP_ACCESS, OP_STATS, OP_PAGE_IN,
	OP_PAGE_OUT, OP_SHARE, OP_UNSHARE, OP_DMA_SHARE, OP_DMA_UNSHARE,
	OP_SNAPSHOT, OP_MEASURE, OP_UNKNOWN, OP_CLOSE_VM, OP_MUNMAP,
	OP_MREMAP, OP_MPROTECT, OP_DONTNEED, OP_HUGEPAGE, OP_TOUCH, OP_FORK,
	NR_OPS
};

static const char *const op_name[NR_OPS] = {
	"GET_API_VERSION", "CHECK_EXTENSION", "CREATE_VM", "GET_INFO",
	"SET_MEMSLOT", "DELETE_MEMSLOT", "INIT_START", "INIT_DONE",
	"INIT_ABORT", "TERMINATE", "GUEST_ACCESS", "GET_STATS", "PAGE_IN",
	"PAGE_OUT", "SHARE", "UNSHARE", "DMA_SHARE", "DMA_UNSHARE",
	"SNAPSHOT", "GET_MEASUREMENT", "unknown-ioctl", "close-vm", "munmap",
	"mremap", "mprotect", "madv-dontneed", "madv-hugepage", "touch", "fork",
};

/*
 * Relative weights: cheap ioctls dominate, memory operations and forks are
 * a small fraction (they cost the most under TCG).
 */
static const unsigned int op_weight[NR_OPS] = {
	[OP_API_VERSION] = 2, [OP_CHECK_EXT] = 2, [OP_CREATE_VM] = 1,
	[OP_GET_INFO] = 3, [OP_SET_MEMSLOT] = 12, [OP_DEL_MEMSLOT] = 4,
	[OP_INIT_START] = 5, [OP_INIT_DONE] = 4, [OP_INIT_ABORT] = 2,
	[OP_TERMINATE] = 2, [OP_ACCESS] = 30, [OP_STATS] = 4,
	[OP_PAGE_IN] = 25, [OP_PAGE_OUT] = 15, [OP_SHARE] = 10,
	[OP_UNSHARE] = 10, [OP_DMA_SHARE] = 8, [OP_DMA_UNSHARE] = 8,
	[OP_SNAPSHOT] = 4, [OP_MEASURE] = 3, [OP_UNKNOWN] = 4,
	[OP_CLOSE_VM] = 1, [OP_MUNMAP] = 1, [OP_MREMAP] = 1,
	[OP_MPROTECT] = 1, [OP_DONTNEED] = 2, [OP_HUGEPAGE] = 1,
	[OP_TOUCH] = 3, [OP_FORK] = 1,
};
/* fork is rarer still: one in this many draws of OP_FORK goes ahead */
#define FORK_DAMPING	16

/* A tiny splitmix64: deterministic, one state word per thread. */
struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static bool chance(struct rng *r, unsigned int percent)
{
	return below(r, 100) < percent;
}

static const uint64_t boundary[] = {
	0, 1, 2, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, 1ULL << 20, (1ULL << 20) + 1,
	(1ULL << 31) - 1, 1ULL << 31, (1ULL << 32) - 1, 1ULL << 32, (1ULL << 32) + 1,
	1ULL << 46, (1ULL << 46) + PAGE, (1ULL << 52) - PAGE, 1ULL << 63,
	(1ULL << 63) - 1, ~0ULL, ~0ULL - PAGE + 1, 0x7fffffffffffULL,
	0xffff800000000000ULL,
};

static uint64_t bval(struct rng *r)
{
	return boundary[below(r, sizeof(boundary) / sizeof(boundary[0]))];
}

/* Memory a memslot can name. */
enum { R_ANON, R_ANON_THP, R_MEMFD, R_SHARED_ANON, R_FILE, R_BIG, R_HUGE, NREG };

/*
 * Every region lives in one reservation of the fuzzer's address space, low
 * and far from its heap, stacks and libraries: a memslot the module
 * wrongly accepted past a region's end (up to CVM_MAX_MEMSLOT_SIZE) can
 * only name the fuzzer's own test memory or nothing. Each region has two
 * slots (mremap moves between them) followed by a guard page; what is not
 * mapped in them holds a PROT_NONE placeholder, so nothing else is ever
 * mapped where a memslot may point.
 */
#define RESERVE_HINT	0x10000000000ULL	/* 1 TiB */

struct region {
	pthread_mutex_t lock;
	uint8_t *slot[2];	/* the two places it can live */
	uint8_t *addr;		/* current base: slot[0] or slot[1] */
	size_t size;		/* current size */
	size_t full;		/* size when mapped fresh */
	int prot;
	bool mapped;
};

static const size_t reg_size[NREG] = {
	[R_ANON] = 16 * PAGE, [R_ANON_THP] = 1024 * PAGE, [R_MEMFD] = 64 * PAGE,
	[R_SHARED_ANON] = 64 * PAGE, [R_FILE] = 16 * PAGE,
	[R_BIG] = 1ULL << 30, [R_HUGE] = (1ULL << 44) + PAGE,
};

/* Guest-physical bases memslots are placed at (so page ops hit them). */
static const uint64_t gpa_base[] = { 0, 1ULL << 30, 1ULL << 40, 1ULL << 45 };
#define NGPA (sizeof(gpa_base) / sizeof(gpa_base[0]))

/*
 * A VM shared by the threads. The memslots that registered (racy hints, by
 * slot id modulo NSLOTHINT) steer GPAs into them.
 */
#define NSLOTHINT 4
struct vmslot {
	pthread_mutex_t lock;
	int fd;
	uint64_t ms_gpa[NSLOTHINT];
	uint64_t ms_pages[NSLOTHINT];
};

struct ring_ent {
	uint64_t n;
	int op;
	int fd;
	uint64_t a[4];
	int res;
};

struct thread {
	pthread_t th;
	int idx;
	pid_t tid;
	struct rng rng;
	uint64_t calls;
	uint64_t ncalls;
	uint8_t *buf;		/* BUF_SIZE, a PROT_NONE guard page after it */
	uint8_t *guard;
	struct ring_ent ring[RING];
	uint64_t ring_n;
	uint64_t call_start;	/* ns, 0 when idle; read by the watchdog */
	struct vmslot *vm;	/* the VM the current call is on */
	/* KCOV */
	int kcov_fd;
	unsigned long *cover;
	uint32_t *pcs;
	uint32_t npcs;
};

static struct {
	uint64_t seed;
	uint64_t calls;
	unsigned int threads;
	unsigned int vms;
	unsigned int rounds;
	unsigned int timeout;
	unsigned int run_timeout;	/* --kcov-run: 0, or --timeout */
	unsigned int fail_rate;
	unsigned int huge;
	uint64_t memlock;
	const char *kcov_file;
	int dev_fd;
	int file_fd;
	uint64_t mod_base, mod_size;
	uint64_t kaslr;		/* _text's distance from where it was linked */
	unsigned int round;
	bool fault_inject;
} cfg = {
	.seed = 1, .calls = 10000, .threads = 4, .vms = 4, .rounds = 4,
	.timeout = 60, .huge = 1, .memlock = 2ULL << 20, .dev_fd = -1, .file_fd = -1,
};

static struct region regions[NREG];
static struct vmslot vms[MAX_VMS];
static struct thread threads[MAX_THREADS];
static uint64_t hist[NR_OPS][NERR];
static uint64_t op_ns[NR_OPS];	/* time spent in each call, all threads */
static volatile int stop_watchdog;
static uint32_t *all_pcs;
static uint32_t all_npcs;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void print_ring(struct thread *t)
{
	uint64_t i, first = t->ring_n > RING ? t->ring_n - RING : 0;

	fprintf(stderr, "fuzz-kmod: thread %d, last %" PRIu64 " calls:\n", t->idx,
		t->ring_n - first);
	for (i = first; i < t->ring_n; i++) {
		struct ring_ent *e = &t->ring[i % RING];

		fprintf(stderr, "  t%d #%" PRIu64 " %s fd=%d %#" PRIx64 " %#" PRIx64
			" %#" PRIx64 " %#" PRIx64 " -> %d (%s)\n", t->idx, e->n,
			op_name[e->op], e->fd, e->a[0], e->a[1], e->a[2], e->a[3],
			e->res, e->res < 0 ? strerror(-e->res) : "ok");
	}
}

static void replay_hint(void)
{
	fprintf(stderr, "fuzz-kmod: replay with --seed %" PRIu64 " --calls %" PRIu64
		" --threads %u --vms %u --rounds %u --huge %u --fail-rate %u (round %u)\n",
		cfg.seed, cfg.calls, cfg.threads, cfg.vms, cfg.rounds, cfg.huge,
		cfg.fail_rate, cfg.round);
}

static void dump_all(void)
{
	unsigned int i;

	for (i = 0; i < cfg.threads; i++)
		print_ring(&threads[i]);
	replay_hint();
	fflush(NULL);
}

/* KCOV: PCs are kept as 32-bit offsets from the module's base. */
static void pcset_add(uint32_t *set, uint32_t *n, uint32_t off)
{
	uint32_t h = (off * 2654435761U) & (PCSET_SIZE - 1);

	while (set[h] && set[h] != off + 1)
		h = (h + 1) & (PCSET_SIZE - 1);
	if (!set[h] && *n < PCSET_SIZE - 1) {
		set[h] = off + 1;
		(*n)++;
	}
}

static void kcov_collect(unsigned long *cover, uint32_t *set, uint32_t *n)
{
	unsigned long i, cnt = __atomic_load_n(&cover[0], __ATOMIC_RELAXED);

	if (cnt >= COVER_SIZE)
		cnt = COVER_SIZE - 1;
	for (i = 0; i < cnt; i++) {
		unsigned long pc = cover[i + 1];

		pc += cfg.kaslr;	/* KCOV subtracts the KASLR offset */
		if (pc >= cfg.mod_base && pc < cfg.mod_base + cfg.mod_size)
			pcset_add(set, n, (uint32_t)(pc - cfg.mod_base));
	}
}

static int module_range(void)
{
	char line[512], name[64], state[32];
	unsigned long size, addr;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lu %*d %*s %31s %lx", name, &size, state, &addr) == 4 &&
		    !strcmp(name, "cvm")) {
			cfg.mod_base = addr;
			cfg.mod_size = size;
		}
	}
	fclose(f);
	/*
	 * KCOV records PCs minus kaslr_offset(): _text as loaded, less the
	 * x86-64 link address of _text.
	 */
	f = fopen("/proc/kallsyms", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %*s %63s", &addr, name) == 2 && !strcmp(name, "_text")) {
			cfg.kaslr = addr - 0xffffffff81000000UL;
			break;
		}
	}
	if (f)
		fclose(f);
	if (!cfg.mod_base) {
		fprintf(stderr, "fuzz-kmod: cvm not in /proc/modules (or address hidden)\n");
		return -ENOENT;
	}
	return 0;
}

static int kcov_open(int *fd, unsigned long **cover)
{
	*fd = open("/sys/kernel/debug/kcov", O_RDWR);
	if (*fd < 0)
		return -errno;
	if (ioctl(*fd, KCOV_INIT_TRACE, COVER_SIZE))
		goto err;
	*cover = mmap(NULL, COVER_SIZE * sizeof(unsigned long), PROT_READ | PROT_WRITE,
		      MAP_SHARED, *fd, 0);
	if (*cover == MAP_FAILED)
		goto err;
	return 0;
err:
	close(*fd);
	return -errno;
}

static int write_pcs(const char *file, uint32_t *set)
{
	FILE *f = fopen(file, "w");
	uint32_t i;

	if (!f)
		return -errno;
	for (i = 0; i < PCSET_SIZE; i++)
		if (set[i])
			fprintf(f, "0x%x\n", set[i] - 1);
	return fclose(f) ? -errno : 0;
}

/* One call: ring log, watchdog stamp, errno histogram, coverage. */
static long record(struct thread *t, int op, int fd, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3)
{
	struct ring_ent *e = &t->ring[t->ring_n % RING];

	e->n = t->calls;
	e->op = op;
	e->fd = fd;
	e->a[0] = a0;
	e->a[1] = a1;
	e->a[2] = a2;
	e->a[3] = a3;
	e->res = 0;
	t->ring_n++;
	t->calls++;
	if (t->cover)
		__atomic_store_n(&t->cover[0], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&t->call_start, now_ns(), __ATOMIC_RELEASE);
	return 0;
}

static long done(struct thread *t, int op, long ret)
{
	struct ring_ent *e = &t->ring[(t->ring_n - 1) % RING];
	int err = ret < 0 ? errno : 0;

	__atomic_fetch_add(&op_ns[op], now_ns() - t->call_start, __ATOMIC_RELAXED);
	__atomic_store_n(&t->call_start, 0, __ATOMIC_RELEASE);
	if (t->cover)
		kcov_collect(t->cover, t->pcs, &t->npcs);
	e->res = ret < 0 ? -err : (int)ret;
	__atomic_fetch_add(&hist[op][err < NERR ? err : NERR - 1], 1, __ATOMIC_RELAXED);
	return ret < 0 ? -err : ret;
}

static long xioctl(struct thread *t, int op, int fd, unsigned long cmd, void *arg,
		   uint64_t a1, uint64_t a2, uint64_t a3)
{
	record(t, op, fd, (uint64_t)cmd, a1, a2, a3);
	return done(t, op, ioctl(fd, cmd, arg));
}

/* A pointer for an ioctl's struct: mostly the real one, sometimes bad. */
static void *argp(struct thread *t, void *good, size_t size)
{
	if (!chance(&t->rng, 3))
		return good;
	switch (below(&t->rng, 6)) {
	case 0: return NULL;
	case 1: return (void *)1;
	case 2: return t->guard;
	case 3: return t->guard - size / 2;	/* straddles the guard page */
	case 4: return (void *)0xffff888000000000ULL;	/* kernel address */
	default: return (void *)~0UL;
	}
}

/* A user buffer address for access/snapshot payloads. */
static uint64_t uptr(struct thread *t, size_t len)
{
	unsigned int k = below(&t->rng, 100);

	if (k < 85)
		return (uint64_t)(uintptr_t)t->buf + (len < BUF_SIZE - PAGE ?
			below(&t->rng, 64) : 0);
	if (k < 90)
		return (uint64_t)(uintptr_t)regions[below(&t->rng, NREG)].addr +
			below(&t->rng, 4) * PAGE;
	if (k < 94)	/* straddles the guard page; never reaches below buf */
		return (uint64_t)(uintptr_t)t->guard - (len < BUF_SIZE ? len / 2 : 64);
	return bval(&t->rng);
}

static int pick_vm(struct thread *t)
{
	t->vm = &vms[below(&t->rng, cfg.vms)];
	return __atomic_load_n(&t->vm->fd, __ATOMIC_ACQUIRE);
}

static uint64_t gpa(struct thread *t, bool aligned)
{
	unsigned int k = below(&t->rng, 100), h = below(&t->rng, NSLOTHINT), i;
	uint64_t g, n = 0;

	for (i = 0; i < NSLOTHINT && !n; i++, h = (h + 1) % NSLOTHINT)
		n = __atomic_load_n(&t->vm->ms_pages[h], __ATOMIC_RELAXED);
	h = (h + NSLOTHINT - 1) % NSLOTHINT;

	if (k < 70 && n)	/* in a memslot that registered, mostly its start */
		g = __atomic_load_n(&t->vm->ms_gpa[h], __ATOMIC_RELAXED) +
			below(&t->rng, chance(&t->rng, 80) && n > 32 ? 32 : n) * PAGE;
	else if (k < 80)
		g = gpa_base[below(&t->rng, NGPA)] + below(&t->rng, chance(&t->rng, 80) ? 32 : 4096) * PAGE;
	else if (k < 85)
		g = gpa_base[below(&t->rng, NGPA)] + reg_size[below(&t->rng, NREG)] -
			below(&t->rng, 2) * PAGE;	/* at or just before the end */
	else
		g = bval(&t->rng);
	if (!aligned || chance(&t->rng, 3))
		g += below(&t->rng, PAGE);
	return g;
}

static uint64_t npages(struct thread *t)
{
	unsigned int k = below(&t->rng, 100);

	if (k < 35)
		return below(&t->rng, 2);
	if (k < 90)
		return 1 + below(&t->rng, 16);
	if (k < 95)	/* a whole region, or one page past it */
		return reg_size[below(&t->rng, NREG)] / PAGE + below(&t->rng, 2);
	return bval(&t->rng);
}

static void maybe_reserved(struct thread *t, __u64 *res, unsigned int n, __u32 *pad)
{
	if (chance(&t->rng, 3))
		res[below(&t->rng, n)] = rnd(&t->rng) | 1;
	if (pad && chance(&t->rng, 2))
		*pad = (uint32_t)rnd(&t->rng) | 1;
}

static void op_create_vm(struct thread *t)
{
	struct cvm_create_vm c = { 0 };
	struct vmslot *s = &vms[below(&t->rng, cfg.vms)];
	int dev = cfg.dev_fd, fd, old, i;
	bool fresh = chance(&t->rng, 5);

	if (chance(&t->rng, 30))
		c.pin_limit_bytes = chance(&t->rng, 50) ? bval(&t->rng) :
			below(&t->rng, 4096) * (chance(&t->rng, 50) ? PAGE : 1);
	if (chance(&t->rng, 3))
		c.flags = 1U << below(&t->rng, 32);
	maybe_reserved(t, c.reserved, 4, &c.pad);
	if (fresh) {
		dev = open("/dev/cvm", O_RDWR | O_CLOEXEC);
		if (dev < 0)
			return;
	}
	fd = xioctl(t, OP_CREATE_VM, dev, CVM_CREATE_VM, argp(t, &c, sizeof(c)),
		    c.pin_limit_bytes, c.flags, c.reserved[0]);
	if (fresh)
		close(dev);
	if (fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	old = s->fd;
	for (i = 0; i < NSLOTHINT; i++)
		__atomic_store_n(&s->ms_pages[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->fd, fd, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&s->lock);
	if (old >= 0)
		close(old);
}

/* Closing a VM fd while other threads may be inside an ioctl on it. */
static void op_close_vm(struct thread *t)
{
	struct vmslot *s = &vms[below(&t->rng, cfg.vms)];
	int fd;

	pthread_mutex_lock(&s->lock);
	fd = __atomic_exchange_n(&s->fd, -1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&s->lock);
	if (fd < 0)
		return;
	record(t, OP_CLOSE_VM, fd, 0, 0, 0, 0);
	done(t, OP_CLOSE_VM, close(fd));
}

static void op_set_memslot(struct thread *t, int fd, bool del)
{
	struct cvm_user_memslot m = { 0 };
	unsigned int r = below(&t->rng, NREG);
	unsigned int k = below(&t->rng, 100);

	if (r == R_HUGE && !cfg.huge)
		r = R_BIG;
	m.slot = chance(&t->rng, 90) ? below(&t->rng, 8) : (uint32_t)bval(&t->rng);
	if (!del) {
		m.flags = chance(&t->rng, 8) ? CVM_MEMSLOT_UPFRONT : 0;
		if (chance(&t->rng, 3))
			m.flags = 1U << below(&t->rng, 32);
		m.gpa = chance(&t->rng, 90) ? gpa_base[below(&t->rng, NGPA)] : gpa(t, true);
		m.uaddr = (uint64_t)(uintptr_t)regions[r].addr;
		m.size = regions[r].full;
		if (k < 10)		/* a part of the region */
			m.size = (1 + below(&t->rng, 8)) * PAGE;
		else if (k < 15)	/* past the region's end */
			m.size += PAGE;
		else if (k < 22)
			m.size = bval(&t->rng);
		else if (k < 25)
			m.uaddr += below(&t->rng, 2 * PAGE);
		else if (k < 28)
			m.uaddr = bval(&t->rng);
		else if (k < 30)
			m.gpa += below(&t->rng, PAGE);
	} else if (chance(&t->rng, 5)) {
		m.gpa = bval(&t->rng);
	}
	if (!del && chance(&t->rng, 8)) {
		/* fault-around: mostly a valid run, sometimes not */
		m.flags = CVM_MEMSLOT_FAULT_AROUND;
		m.fault_around = 1U << below(&t->rng, 11);
	}
	maybe_reserved(t, m.reserved, 1, &m.pad);
	if (xioctl(t, del ? OP_DEL_MEMSLOT : OP_SET_MEMSLOT, fd,
		   del ? CVM_DELETE_MEMSLOT : CVM_SET_MEMSLOT, argp(t, &m, sizeof(m)),
		   m.gpa, m.size, ((uint64_t)m.slot << 32) | m.flags) || del)
		return;
	__atomic_store_n(&t->vm->ms_gpa[m.slot % NSLOTHINT], m.gpa, __ATOMIC_RELAXED);
	__atomic_store_n(&t->vm->ms_pages[m.slot % NSLOTHINT], m.size / PAGE, __ATOMIC_RELAXED);
}

static void op_access(struct thread *t, int fd)
{
	struct cvm_guest_access a = { 0 };
	unsigned int k = below(&t->rng, 100);

	a.gpa = gpa(t, chance(&t->rng, 70));
	if (k < 70)
		a.len = 1 + below(&t->rng, 64);
	else if (k < 85)
		a.len = PAGE - 1 + below(&t->rng, 3);
	else if (k < 97)
		a.len = (uint32_t)bval(&t->rng);
	else
		a.len = CVM_ACCESS_MAX + below(&t->rng, 2);
	a.flags = chance(&t->rng, 50) ? CVM_ACCESS_WRITE : 0;
	if (chance(&t->rng, 3))
		a.flags = 1U << below(&t->rng, 32);
	a.uaddr = uptr(t, a.len);
	maybe_reserved(t, a.reserved, 2, NULL);
	xioctl(t, OP_ACCESS, fd, CVM_GUEST_ACCESS, argp(t, &a, sizeof(a)), a.gpa,
	       ((uint64_t)a.len << 32) | a.flags, a.uaddr);
}

static void op_page(struct thread *t, int fd, int op)
{
	static const unsigned long cmd[] = {
		[OP_PAGE_IN] = CVM_PAGE_IN, [OP_PAGE_OUT] = CVM_PAGE_OUT,
		[OP_SHARE] = CVM_SHARE, [OP_UNSHARE] = CVM_UNSHARE,
		[OP_DMA_SHARE] = CVM_DMA_SHARE, [OP_DMA_UNSHARE] = CVM_DMA_UNSHARE,
	};
	struct cvm_page_op p = { 0 };

	p.gpa = gpa(t, true);
	if (op == OP_PAGE_IN || op == OP_PAGE_OUT)
		p.nr_pages = chance(&t->rng, 90) ? below(&t->rng, 2) : npages(t);
	else
		p.nr_pages = npages(t);
	if (op == OP_PAGE_IN && chance(&t->rng, 30))
		p.flags = CVM_PAGE_SHARED;
	if (chance(&t->rng, 3))
		p.flags = 1U << below(&t->rng, 32);
	if (chance(&t->rng, 5))
		p.page_shift = chance(&t->rng, 50) ? 12 : (uint32_t)bval(&t->rng);
	maybe_reserved(t, p.reserved, 2, NULL);
	xioctl(t, op, fd, cmd[op], argp(t, &p, sizeof(p)), p.gpa, p.nr_pages,
	       ((uint64_t)p.flags << 32) | p.page_shift);
}

static void op_snapshot(struct thread *t, int fd)
{
	struct cvm_snapshot s = { 0 };
	unsigned int k = below(&t->rng, 100);
	uint32_t fit = BUF_SIZE / sizeof(struct cvm_gfn_run);

	if (k < 40)
		s.capacity = below(&t->rng, 64);
	else if (k < 80)
		s.capacity = fit - below(&t->rng, 2);
	else
		s.capacity = (uint32_t)bval(&t->rng);
	s.uaddr = chance(&t->rng, 90) ? (uint64_t)(uintptr_t)t->buf :
		  uptr(t, s.capacity * sizeof(struct cvm_gfn_run));
	if (chance(&t->rng, 3))
		s.nr_entries = (uint32_t)rnd(&t->rng);
	maybe_reserved(t, s.reserved, 2, NULL);
	xioctl(t, OP_SNAPSHOT, fd, CVM_SNAPSHOT, argp(t, &s, sizeof(s)), s.uaddr, s.capacity, 0);
}

static void op_unknown(struct thread *t, int fd)
{
	unsigned long cmd;
	unsigned int dir = below(&t->rng, 4), type = CVMIO;
	void *arg = t->buf;

	if (chance(&t->rng, 10))
		type = below(&t->rng, 256);
	cmd = _IOC(dir, type, below(&t->rng, 256), below(&t->rng, 256));
	/* Never the fuzzer's own KCOV ioctls through a reused fd number. */
	if (type == 'c')
		cmd = _IOC(dir, CVMIO, 0xff, 8);
	if (chance(&t->rng, 20))
		arg = (void *)(uintptr_t)bval(&t->rng);
	xioctl(t, OP_UNKNOWN, fd, cmd, arg, 0, 0, 0);
}

/* Memory operations on memslot memory: under the region's lock. */
/* PROT_NONE over [addr, addr + len): ours, unusable, never reused. */
static void placeholder(uint8_t *addr, size_t len)
{
	mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
	     MAP_FIXED_NOREPLACE, -1, 0);
}

static int map_region(unsigned int r, uint8_t *hint)
{
	struct region *g = &regions[r];
	int flags = MAP_NORESERVE, fd = -1;
	void *p;

	switch (r) {
	case R_MEMFD:
		fd = memfd_create("fuzz-kmod", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, g->full)) {
			if (fd >= 0)
				close(fd);
			return -errno;
		}
		flags |= MAP_SHARED;
		break;
	case R_SHARED_ANON:
		flags |= MAP_SHARED | MAP_ANONYMOUS;
		break;
	case R_FILE:
		fd = dup(cfg.file_fd);
		if (fd < 0)
			return -errno;
		flags |= MAP_SHARED;
		break;
	default:
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
	}
	/* over the region's own slot (placeholder or old mapping) */
	p = mmap(hint, g->full, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED)
		return -errno;
	g->addr = p;
	g->size = g->full;
	g->prot = PROT_READ | PROT_WRITE;
	g->mapped = true;
	return 0;
}

static void op_memory(struct thread *t, int op)
{
	unsigned int r = below(&t->rng, NREG);
	struct region *g = &regions[r];
	uint64_t off, len;
	long ret;
	void *p;

	pthread_mutex_lock(&g->lock);
	if (!g->mapped) {
		/* back where it was, so memslots naming it see new pages */
		record(t, OP_MUNMAP, -1, (uintptr_t)g->addr, g->full, 1, 0);
		done(t, OP_MUNMAP, map_region(r, g->addr) ? -1 : 0);
		goto out;
	}
	off = below(&t->rng, g->size / PAGE) * PAGE;
	len = chance(&t->rng, 50) ? PAGE : (1 + below(&t->rng, 16)) * PAGE;
	if (off + len > g->size)
		len = g->size - off;
	switch (op) {
	case OP_MUNMAP:
		record(t, op, -1, (uintptr_t)g->addr, g->size, 0, 0);
		ret = munmap(g->addr, g->size);
		if (!ret) {
			g->mapped = false;
			placeholder(g->addr, g->full);
		}
		done(t, op, ret);
		break;
	case OP_MREMAP:
		if (r == R_HUGE || r == R_BIG)
			break;
		len = chance(&t->rng, 50) ? g->size / 2 : g->size + PAGE * (1 + below(&t->rng, 16));
		if (len < PAGE)
			len = PAGE;
		if (len > g->full)
			len = g->full;
		record(t, op, -1, (uintptr_t)g->addr, g->size, len, 0);
		if (len < g->size && chance(&t->rng, 50)) {	/* shrink in place */
			p = mremap(g->addr, g->size, len, 0);
			if (p != MAP_FAILED) {
				placeholder(g->addr + len, g->size - len);
				g->size = len;
			}
		} else {	/* move to the other slot, any size up to full */
			uint8_t *to = g->slot[g->addr == g->slot[0]];

			p = mremap(g->addr, g->size, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
			if (p != MAP_FAILED) {
				placeholder(g->addr, g->full);
				placeholder(to + len, g->full - len);
				g->addr = p;
				g->size = len;
			}
		}
		done(t, op, p == MAP_FAILED ? -1 : 0);
		break;
	case OP_MPROTECT: {
		static const int prots[] = { PROT_READ, PROT_NONE, PROT_READ | PROT_WRITE };
		int prot = prots[below(&t->rng, 3)];

		/* whole-region changes only: touch reads g->prot */
		if (chance(&t->rng, 50)) {
			record(t, op, -1, (uintptr_t)g->addr, g->size, prot, 0);
			ret = mprotect(g->addr, g->size, prot);
			if (!ret)
				g->prot = prot;
		} else {	/* one page, and back: splits a THP */
			record(t, op, -1, (uintptr_t)g->addr + off, PAGE, PROT_READ, 1);
			ret = mprotect(g->addr + off, PAGE, PROT_READ);
			if (!ret)
				ret = mprotect(g->addr + off, PAGE, g->prot);
		}
		/*
		 * A failed mprotect (ENOMEM under fault injection) may have
		 * changed part of the range: the protection is unknown, so no
		 * touch until a whole-region one succeeds.
		 */
		if (ret)
			g->prot = 0;
		done(t, op, ret);
		break;
	}
	case OP_DONTNEED:
		record(t, op, -1, (uintptr_t)g->addr + off, len, 0, 0);
		done(t, op, madvise(g->addr + off, len, MADV_DONTNEED));
		break;
	case OP_HUGEPAGE:
		record(t, op, -1, (uintptr_t)g->addr, g->size, 0, 0);
		done(t, op, madvise(g->addr, g->size, MADV_HUGEPAGE));
		break;
	case OP_TOUCH:
		if (g->prot != (PROT_READ | PROT_WRITE))
			break;
		if (r == R_FILE || r == R_HUGE || r == R_BIG)
			len = PAGE;	/* bounded memory */
		record(t, op, -1, (uintptr_t)g->addr + off, len, 0, 0);
		for (uint64_t i = 0; i < len; i += PAGE)
			g->addr[off + i] = (uint8_t)rnd(&t->rng);
		done(t, op, 0);
		break;
	}
out:
	pthread_mutex_unlock(&g->lock);
}

/* A child holding the fds: a few calls on a VM fd (EIO expected), exit. */
static void op_fork(struct thread *t)
{
	struct cvm_vm_stats st;
	struct cvm_page_op p = { .gpa = 0 };
	int fd = pick_vm(t), status;
	pid_t pid;

	if (fd < 0)
		return;
	record(t, OP_FORK, fd, 0, 0, 0, 0);
	pid = fork();
	if (pid == 0) {
		ioctl(fd, CVM_GET_STATS, &st);
		ioctl(fd, CVM_PAGE_IN, &p);
		ioctl(fd, CVM_INIT_START);
		ioctl(cfg.dev_fd, CVM_GET_INFO, &st);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	done(t, OP_FORK, pid < 0 ? -1 : 0);
}

static int pick_op(struct thread *t)
{
	static unsigned int total;
	unsigned int i, x;

	if (!total)
		for (i = 0; i < NR_OPS; i++)
			total += op_weight[i];
	x = below(&t->rng, total);
	for (i = 0; i < NR_OPS; i++) {
		if (x < op_weight[i])
			return i;
		x -= op_weight[i];
	}
	return OP_STATS;
}

static void one_call(struct thread *t)
{
	int op = pick_op(t), fd;
	union {
		struct cvm_info info;
		struct cvm_vm_stats st;
		struct cvm_measurement m;
	} u;

	if (op == OP_CREATE_VM) {
		op_create_vm(t);
		return;
	}
	if (op == OP_CLOSE_VM) {
		op_close_vm(t);
		return;
	}
	if (op >= OP_MUNMAP && op <= OP_TOUCH) {
		op_memory(t, op);
		return;
	}
	if (op == OP_FORK) {
		if (!below(&t->rng, FORK_DAMPING))
			op_fork(t);
		return;
	}
	if (op == OP_API_VERSION || op == OP_CHECK_EXT || op == OP_GET_INFO)
		fd = chance(&t->rng, 90) ? cfg.dev_fd : pick_vm(t);
	else
		fd = chance(&t->rng, 98) ? pick_vm(t) : cfg.dev_fd;
	if (fd < 0) {
		op_create_vm(t);
		return;
	}
	if (fd == cfg.dev_fd)
		t->vm = &vms[0];
	memset(&u, 0, sizeof(u));
	switch (op) {
	case OP_API_VERSION:
		xioctl(t, op, fd, CVM_GET_API_VERSION, NULL, 0, 0, 0);
		break;
	case OP_CHECK_EXT: {
		uint64_t cap = chance(&t->rng, 70) ? below(&t->rng, 10) : bval(&t->rng);

		record(t, op, fd, CVM_CHECK_EXTENSION, cap, 0, 0);
		done(t, op, ioctl(fd, CVM_CHECK_EXTENSION, (unsigned long)cap));
		break;
	}
	case OP_GET_INFO:
		maybe_reserved(t, u.info.reserved, 5, NULL);
		xioctl(t, op, fd, CVM_GET_INFO, argp(t, &u.info, sizeof(u.info)), 0, 0, 0);
		break;
	case OP_SET_MEMSLOT:
	case OP_DEL_MEMSLOT:
		op_set_memslot(t, fd, op == OP_DEL_MEMSLOT);
		break;
	case OP_INIT_START:
		xioctl(t, op, fd, CVM_INIT_START, NULL, 0, 0, 0);
		break;
	case OP_INIT_DONE:
		xioctl(t, op, fd, CVM_INIT_DONE, NULL, 0, 0, 0);
		break;
	case OP_INIT_ABORT:
		xioctl(t, op, fd, CVM_INIT_ABORT, NULL, 0, 0, 0);
		break;
	case OP_TERMINATE:
		xioctl(t, op, fd, CVM_TERMINATE, NULL, 0, 0, 0);
		break;
	case OP_ACCESS:
		op_access(t, fd);
		break;
	case OP_STATS:
		xioctl(t, op, fd, CVM_GET_STATS, argp(t, &u.st, sizeof(u.st)), 0, 0, 0);
		break;
	case OP_SNAPSHOT:
		op_snapshot(t, fd);
		break;
	case OP_MEASURE:
		xioctl(t, op, fd, CVM_GET_MEASUREMENT, argp(t, &u.m, sizeof(u.m)), 0, 0, 0);
		break;
	case OP_UNKNOWN:
		op_unknown(t, fd);
		break;
	default:
		op_page(t, fd, op);
		break;
	}
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	stack_t ss = { .ss_size = 64 * 1024 };
	char path[64];
	uint64_t i;
	int fd;

	t->tid = (pid_t)syscall(SYS_gettid);
	/* so that a stack overflow still reports */
	ss.ss_sp = malloc(ss.ss_size);
	if (ss.ss_sp)
		sigaltstack(&ss, NULL);
	t->vm = &vms[0];
	if (cfg.fault_inject) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/make-it-fail", t->tid);
		fd = open(path, O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "1", 1) != 1)
				perror(path);
			close(fd);
		}
	}
	if (t->kcov_fd >= 0 && ioctl(t->kcov_fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		perror("fuzz-kmod: KCOV_ENABLE");
		t->cover = NULL;
	}
	for (i = 0; i < t->ncalls; i++)
		one_call(t);
	if (t->cover)
		ioctl(t->kcov_fd, KCOV_DISABLE, 0);
	if (ss.ss_sp) {
		ss.ss_flags = SS_DISABLE;
		sigaltstack(&ss, NULL);
		free(ss.ss_sp);
	}
	return NULL;
}

/* Where each fuzzing thread is in the kernel (root reads its own tasks'). */
static void dump_kernel_stacks(void)
{
	char path[64], buf[4096];
	unsigned int i;
	ssize_t n;
	int fd;

	for (i = 0; i < cfg.threads; i++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/stack",
			 (int)threads[i].tid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		fprintf(stderr, "fuzz-kmod: thread %u kernel stack:\n%s", i, buf);
	}
}

static void *watchdog(void *arg)
{
	unsigned int i;

	(void)arg;
	while (!stop_watchdog) {
		uint64_t now = now_ns();

		for (i = 0; i < cfg.threads; i++) {
			uint64_t s = __atomic_load_n(&threads[i].call_start, __ATOMIC_ACQUIRE);

			/* s may be newer than now: stamped after now was read */
			if (s && s < now && now - s > (uint64_t)cfg.timeout * 1000000000ULL) {
				struct ring_ent *e = &threads[i].ring[(threads[i].ring_n - 1) % RING];

				fprintf(stderr, "fuzz-kmod: HANG: thread %u in %s for over %u s"
					" (seed %" PRIu64 ")\n", i, op_name[e->op], cfg.timeout,
					cfg.seed);
				dump_all();
				dump_kernel_stacks();
				_exit(3);
			}
		}
		usleep(200000);
	}
	return NULL;
}

/* A fault in the fuzzer itself: say where, with the thread's ring. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	unsigned int i;

	(void)uc;
	fprintf(stderr, "fuzz-kmod: signal %d at %p in thread %d\n", sig, si->si_addr, tid);
	for (i = 0; i < cfg.threads; i++)
		if (threads[i].tid == tid)
			print_ring(&threads[i]);
	replay_hint();
	_exit(4);
}

static long vmlck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int get_info(struct cvm_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(cfg.dev_fd, CVM_GET_INFO, info) ? -errno : 0;
}

/* Every VM closed: the module's counters and VmLck back to the baseline. */
static int check_baseline(const struct cvm_info *base, long base_lck)
{
	struct cvm_info now;
	long lck = -1;
	int tries;

	for (tries = 0; tries < 50; tries++) {
		if (get_info(&now))
			return -1;
		lck = vmlck_kb();
		if (now.nr_vms == base->nr_vms && now.pinned_pages == base->pinned_pages &&
		    now.charged_bytes == base->charged_bytes &&
		    now.pool_free_pages == base->pool_free_pages && lck == base_lck)
			return 0;
		usleep(100000);
	}
	fprintf(stderr, "fuzz-kmod: FAIL: round %u: counters not back to baseline with every VM closed:\n"
		"  nr_vms %u (baseline %u), pinned_pages %llu (%llu), charged_bytes %llu (%llu),\n"
		"  pool_free_pages %llu (%llu), VmLck %ld kB (%ld kB)\n", cfg.round,
		now.nr_vms, base->nr_vms, (unsigned long long)now.pinned_pages,
		(unsigned long long)base->pinned_pages, (unsigned long long)now.charged_bytes,
		(unsigned long long)base->charged_bytes, (unsigned long long)now.pool_free_pages,
		(unsigned long long)base->pool_free_pages, lck, base_lck);
	return -1;
}

static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	data[CAP_TO_INDEX(CAP_IPC_LOCK)].permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* Fault injection: debugfs failslab / fail_page_alloc, only our threads. */
static const char *const fault_dirs[] = {
	"/sys/kernel/debug/failslab", "/sys/kernel/debug/fail_page_alloc",
};
#define FAULT_TIMES 100000000ULL

static int put(const char *dir, const char *file, const char *fmt, unsigned long long v)
{
	char path[256], val[64];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	n = snprintf(val, sizeof(val), fmt, v);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

static long long get_ll(const char *dir, const char *file)
{
	char path[256], val[64] = "";
	long long v = -1;
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, val, sizeof(val) - 1);
	close(fd);
	if (n > 0)
		sscanf(val, "%lld", &v);
	return v;
}

static void faults_setup(void)
{
	unsigned int i, n = 0;

	if (!cfg.fail_rate)
		return;
	for (i = 0; i < 2; i++) {
		const char *d = fault_dirs[i];

		if (access(d, F_OK)) {
			printf("fault-injection: %s absent (kernel without it): going on without\n", d);
			continue;
		}
		put(d, "probability", "%llu", 0);
		if (put(d, "task-filter", "Y", 0) || put(d, "interval", "%llu", 1) ||
		    put(d, "times", "%llu", FAULT_TIMES) || put(d, "verbose", "%llu", 0) ||
		    put(d, "ignore-gfp-wait", "N", 0)) {
			printf("fault-injection: cannot configure %s: going on without\n", d);
			continue;
		}
		put(d, "ignore-gfp-highmem", "N", 0);
		/* Aim at the module: an allocation with cvm.ko on the stack. */
		if (cfg.mod_base && !put(d, "require-start", "%llu", cfg.mod_base) &&
		    !put(d, "require-end", "%llu", cfg.mod_base + cfg.mod_size))
			put(d, "stacktrace-depth", "%llu", 32);
		put(d, "probability", "%llu", cfg.fail_rate);
		n++;
	}
	cfg.fault_inject = n > 0;
}

static void faults_report(void)
{
	unsigned long long total = 0, each[2] = { 0, 0 };
	unsigned int i;

	if (!cfg.fault_inject) {
		printf("faults-injected: 0 (fault injection off or unavailable)\n");
		return;
	}
	for (i = 0; i < 2; i++) {
		long long left = get_ll(fault_dirs[i], "times");

		if (left >= 0 && (unsigned long long)left <= FAULT_TIMES)
			each[i] = FAULT_TIMES - left;
		total += each[i];
		put(fault_dirs[i], "probability", "%llu", 0);
	}
	printf("faults-injected: %llu (failslab %llu, fail_page_alloc %llu)\n", total,
	       each[0], each[1]);
}

static int setup_regions(void)
{
	char path[] = "/tmp/fuzz-kmod.XXXXXX";
	unsigned int r;
	int ret;

	cfg.file_fd = mkstemp(path);
	if (cfg.file_fd < 0)
		return -errno;
	unlink(path);
	if (ftruncate(cfg.file_fd, reg_size[R_FILE]))
		return -errno;
	size_t total = 0, off = 0;
	uint8_t *base;

	for (r = 0; r < NREG; r++) {
		regions[r].full = reg_size[r];
		if (r == R_HUGE && !cfg.huge)
			regions[r].full = PAGE;
		total += (r == R_BIG || r == R_HUGE ? 1 : 2) * (regions[r].full + PAGE);
	}
	base = mmap((void *)RESERVE_HINT, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (base == MAP_FAILED)
		base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			    MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	for (r = 0; r < NREG; r++) {
		pthread_mutex_init(&regions[r].lock, NULL);
		regions[r].slot[0] = base + off;
		regions[r].slot[1] = base + off + regions[r].full + PAGE;
		off += (r == R_BIG || r == R_HUGE ? 1 : 2) * (regions[r].full + PAGE);
		if (r == R_BIG || r == R_HUGE)	/* never moved */
			regions[r].slot[1] = regions[r].slot[0];
		ret = map_region(r, regions[r].slot[0]);
		if (ret) {
			fprintf(stderr, "fuzz-kmod: mmap region %u: %s\n", r, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* End of a round: every VM closed, memslot memory fresh. */
static void teardown_round(void)
{
	unsigned int i;

	for (i = 0; i < cfg.vms; i++) {
		if (vms[i].fd >= 0)
			close(vms[i].fd);
		vms[i].fd = -1;
	}
	for (i = 0; i < NREG; i++) {
		regions[i].mapped = false;
		map_region(i, regions[i].addr);
	}
}

static void print_histogram(void)
{
	unsigned int op, e;

	for (op = 0; op < NR_OPS; op++) {
		uint64_t sum = 0;

		for (e = 0; e < NERR; e++)
			sum += hist[op][e];
		if (!sum)
			continue;
		printf("  %-16s %8" PRIu64 " %8.3f ms/call:", op_name[op], sum,
		       op_ns[op] / 1e6 / sum);
		for (e = 0; e < NERR; e++) {
			if (!hist[op][e])
				continue;
			if (!e)
				printf(" ok=%" PRIu64, hist[op][e]);
			else
				printf(" %s=%" PRIu64, e == NERR - 1 ? "other" :
				       strerrorname_np(e) ? strerrorname_np(e) : "?", hist[op][e]);
		}
		printf("\n");
	}
}

/* --kcov-run FILE -- COMMAND: KCOV of COMMAND's main thread. */
static int kcov_run(char **argv)
{
	uint32_t *set = calloc(PCSET_SIZE, sizeof(*set)), n = 0;
	unsigned long *cover;
	int fd, status = 0, ret;
	uint64_t t0;
	pid_t pid;

	if (!set || module_range())
		return 2;
	ret = kcov_open(&fd, &cover);
	if (ret) {
		fprintf(stderr, "fuzz-kmod: kcov: %s\n", strerror(-ret));
		return 2;
	}
	pid = fork();
	if (pid == 0) {
		if (ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC))
			_exit(127);
		__atomic_store_n(&cover[0], 0, __ATOMIC_RELAXED);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		return 2;
	t0 = now_ns();
	/*
	 * Drain the shared area while the command runs, so it never fills.
	 * With --timeout, the command is killed after that long: what it
	 * covered so far is still written.
	 */
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (cfg.run_timeout && now_ns() - t0 > cfg.run_timeout * 1000000000ULL) {
			fprintf(stderr, "kcov-run: %s killed after %u s\n", argv[0],
				cfg.run_timeout);
			kill(pid, SIGKILL);
			cfg.run_timeout = 0;
		}
		if (__atomic_load_n(&cover[0], __ATOMIC_RELAXED) > COVER_SIZE / 4) {
			kcov_collect(cover, set, &n);
			__atomic_store_n(&cover[0], 0, __ATOMIC_RELAXED);
		}
		usleep(1000);
	}
	kcov_collect(cover, set, &n);
	if (write_pcs(cfg.kcov_file, set))
		return 2;
	fprintf(stderr, "kcov-run: %u distinct PCs in cvm.ko -> %s\n", n, cfg.kcov_file);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fuzz-kmod [--seed S] [--calls N] [--threads T] [--vms V] [--rounds R]\n"
		"                 [--timeout SEC] [--fail-rate PERCENT] [--huge 0|1]\n"
		"                 [--memlock BYTES] [--kcov FILE]\n"
		"       fuzz-kmod --kcov-run FILE [--timeout SEC] -- COMMAND [ARGS...]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", 1, NULL, 's' }, { "calls", 1, NULL, 'n' },
		{ "threads", 1, NULL, 't' }, { "vms", 1, NULL, 'v' },
		{ "rounds", 1, NULL, 'r' }, { "timeout", 1, NULL, 'w' },
		{ "fail-rate", 1, NULL, 'f' }, { "huge", 1, NULL, 'H' },
		{ "memlock", 1, NULL, 'm' }, { "kcov", 1, NULL, 'k' },
		{ "kcov-run", 1, NULL, 'K' }, { "help", 0, NULL, 'h' }, { 0 },
	};
	struct cvm_info base;
	struct rlimit rl;
	pthread_t wd;
	uint64_t t0, t1, total = 0;
	bool run_mode = false;
	long base_lck;
	unsigned int i, r;
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': cfg.seed = strtoull(optarg, NULL, 0); break;
		case 'n': cfg.calls = strtoull(optarg, NULL, 0); break;
		case 't': cfg.threads = strtoul(optarg, NULL, 0); break;
		case 'v': cfg.vms = strtoul(optarg, NULL, 0); break;
		case 'r': cfg.rounds = strtoul(optarg, NULL, 0); break;
		case 'w':
			cfg.timeout = strtoul(optarg, NULL, 0);
			cfg.run_timeout = cfg.timeout;
			break;
		case 'f': cfg.fail_rate = strtoul(optarg, NULL, 0); break;
		case 'H': cfg.huge = strtoul(optarg, NULL, 0); break;
		case 'm': cfg.memlock = strtoull(optarg, NULL, 0); break;
		case 'k': cfg.kcov_file = optarg; break;
		case 'K': cfg.kcov_file = optarg; run_mode = true; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (run_mode) {
		if (optind >= argc) {
			usage();
			return 2;
		}
		return kcov_run(argv + optind);
	}
	if (!cfg.threads || cfg.threads > MAX_THREADS || !cfg.vms || cfg.vms > MAX_VMS ||
	    !cfg.rounds || cfg.fail_rate > 100 || !cfg.timeout) {
		usage();
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	{
		struct sigaction sa = {
			.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK,
		};

		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
	}
	cfg.dev_fd = open("/dev/cvm", O_RDWR | O_CLOEXEC);
	if (cfg.dev_fd < 0) {
		perror("fuzz-kmod: /dev/cvm");
		return 2;
	}
	if ((cfg.kcov_file || cfg.fail_rate) && module_range() && cfg.kcov_file)
		return 2;
	/* Pinning limits are real: a small RLIMIT_MEMLOCK and no CAP_IPC_LOCK. */
	rl.rlim_cur = rl.rlim_max = cfg.memlock;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		perror("fuzz-kmod: setrlimit(RLIMIT_MEMLOCK)");
	if (drop_ipc_lock())
		perror("fuzz-kmod: dropping CAP_IPC_LOCK");
	if (setup_regions())
		return 2;
	for (i = 0; i < MAX_VMS; i++) {
		pthread_mutex_init(&vms[i].lock, NULL);
		vms[i].fd = -1;
	}
	all_pcs = calloc(PCSET_SIZE, sizeof(*all_pcs));
	for (i = 0; i < cfg.threads; i++) {
		struct thread *t = &threads[i];

		t->idx = i;
		t->kcov_fd = -1;
		t->buf = mmap(NULL, BUF_SIZE + PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (t->buf == MAP_FAILED || !all_pcs)
			return 2;
		t->guard = t->buf + BUF_SIZE;
		mprotect(t->guard, PAGE, PROT_NONE);
		if (cfg.kcov_file) {
			int ret = kcov_open(&t->kcov_fd, &t->cover);

			if (ret) {
				fprintf(stderr, "fuzz-kmod: kcov: %s\n", strerror(-ret));
				return 2;
			}
			t->pcs = calloc(PCSET_SIZE, sizeof(*t->pcs));
			if (!t->pcs)
				return 2;
		}
	}
	if (get_info(&base)) {
		perror("fuzz-kmod: CVM_GET_INFO");
		return 2;
	}
	base_lck = vmlck_kb();
	faults_setup();
	printf("fuzz-kmod: seed %" PRIu64 ", %" PRIu64 " calls, %u threads, %u VMs, %u rounds,"
	       " RLIMIT_MEMLOCK %" PRIu64 ", fault injection %s\n", cfg.seed, cfg.calls,
	       cfg.threads, cfg.vms, cfg.rounds, cfg.memlock,
	       cfg.fault_inject ? "on" : "off");
	pthread_create(&wd, NULL, watchdog, NULL);
	t0 = now_ns();
	for (r = 0; r < cfg.rounds && !status; r++) {
		uint64_t per = cfg.calls / cfg.rounds / cfg.threads;

		cfg.round = r;
		for (i = 0; i < cfg.threads; i++) {
			struct thread *t = &threads[i];

			t->rng.s = cfg.seed * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)r << 32) ^ (i + 1);
			rnd(&t->rng);
			t->ncalls = per + (i == 0 && r == cfg.rounds - 1 ?
				cfg.calls - per * cfg.rounds * cfg.threads : 0);
			t->ring_n = 0;
			pthread_create(&t->th, NULL, thread_main, t);
		}
		for (i = 0; i < cfg.threads; i++)
			pthread_join(threads[i].th, NULL);
		teardown_round();
		if (check_baseline(&base, base_lck)) {
			dump_all();
			status = 1;
		}
	}
	t1 = now_ns();
	stop_watchdog = 1;
	pthread_join(wd, NULL);
	faults_report();
	for (i = 0; i < cfg.threads; i++) {
		total += threads[i].calls;
		if (threads[i].pcs)
			for (uint32_t j = 0; j < PCSET_SIZE; j++)
				if (threads[i].pcs[j])
					pcset_add(all_pcs, &all_npcs, threads[i].pcs[j] - 1);
	}
	printf("calls: %" PRIu64 "\n", total);
	printf("seconds: %.1f\n", (t1 - t0) / 1e9);
	printf("calls/s: %.0f\n", total / ((t1 - t0) / 1e9));
	printf("errno histogram per call (calls, mean time, results):\n");
	print_histogram();
	if (cfg.kcov_file) {
		if (write_pcs(cfg.kcov_file, all_pcs))
			perror(cfg.kcov_file);
		printf("kcov: %u distinct PCs in cvm.ko -> %s\n", all_npcs, cfg.kcov_file);
	}
	if (status)
		printf("fuzz-kmod: FAIL (seed %" PRIu64 ")\n", cfg.seed);
	return status;
}
