// SPDX-License-Identifier: GPL-2.0
/*
 * demo.c - cvm-demo: one VM (64 MiB, demand pinning) walked through its
 * life on /dev/cvm, one line per step, showing what a host operator sees:
 * pinned pages, the process's VmLck and the guest pages per state.
 *
 *   cvm-demo [DEVICE]          (default /dev/cvm; run by `make run`)
 *
 * Exits 1 when any step did not give the expected result.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cvm-dev.h"

#define PAGE		4096UL
#define MIB		(1024UL * 1024)
#define VM_SIZE		(64 * MIB)
#define NR_TOUCH	256		/* pages the "guest" touches */
#define SECRET		"top secret"
#define SECRET_GPA	0x1234UL	/* any alignment; inside page 1 */
#define SHARE_GPA	0x200000UL	/* 2 pages the guest shares */

static int failures;

/* One line per step: "ok" when the result is the expected one. */
static void __attribute__((format(printf, 2, 3)))
step(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%-4s ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures += !ok;
}

static const char *errtext(int err)
{
	static char buf[96];
	const char *name = strerrorname_np(-err);

	snprintf(buf, sizeof(buf), "%s (%s)", name ? name : "?",
		 strerror(-err));
	return buf;
}

/* A field of /proc/self/status in kB, or -1. */
static long status_kb(const char *field)
{
	size_t len = strlen(field);
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static struct cvm_vm_stats stats(int vm_fd)
{
	struct cvm_vm_stats st;

	/* All ones reads as "wrong" in every check below. */
	if (cvm_dev_stats(vm_fd, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

static bool all_zero(const char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static const char *state_name(uint32_t state)
{
	return cvm_vm_state_name((enum cvm_vm_state)state);
}

/* "normal N, shared N, secure N" of a stats snapshot. */
static const char *counts(const struct cvm_vm_stats *st)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "normal %llu, shared %llu, secure %llu",
		 (unsigned long long)st->normal_pages,
		 (unsigned long long)st->shared_pages,
		 (unsigned long long)st->secure_pages);
	return buf;
}

static bool counts_are(const struct cvm_vm_stats *st, uint64_t normal,
		       uint64_t shared, uint64_t secure)
{
	return st->normal_pages == normal && st->shared_pages == shared &&
	       st->secure_pages == secure;
}

static int lifecycle(int vm_fd, enum cvm_vm_op op, uint32_t want_state,
		     struct cvm_vm_stats *st)
{
	int ret = cvm_dev_lifecycle(vm_fd, op);

	*st = stats(vm_fd);
	return ret ? ret : st->state == want_state ? 0 : -EPROTO;
}

static void demo(int dev_fd)
{
	const uint64_t npages = VM_SIZE / PAGE;
	char buf[sizeof(SECRET)] = "";
	long base_lck, lck;
	struct cvm_vm_stats st;
	struct cvm_info info;
	int ret, vm_fd;
	uint8_t byte;
	uint64_t i;
	void *mem;

	base_lck = status_kb("VmLck");
	mem = mmap(NULL, VM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		step(false, "mmap %lu MiB: %s", VM_SIZE / MIB, strerror(errno));
		return;
	}
	ret = cvm_dev_create_vm(dev_fd, 0, &vm_fd);
	if (ret) {
		step(false, "create VM: %s", errtext(ret));
		munmap(mem, VM_SIZE);
		return;
	}
	ret = cvm_dev_set_memslot(vm_fd, 0, 0, VM_SIZE, mem, 0);
	st = stats(vm_fd);
	lck = status_kb("VmLck");
	step(!ret && st.nr_pages == npages && !st.pinned_pages &&
	     lck == base_lck,
	     "create VM + %lu MiB memslot (demand): %s; %llu guest pages, pinned %llu, VmLck %ld kB (before: %ld kB)",
	     VM_SIZE / MIB, ret ? errtext(ret) : "done",
	     (unsigned long long)st.nr_pages,
	     (unsigned long long)st.pinned_pages, lck, base_lck);

	/* Only the page holding the secret gets pinned. */
	ret = cvm_dev_guest_write(vm_fd, SECRET_GPA, SECRET, sizeof(SECRET));
	if (!ret)
		ret = cvm_dev_guest_read(vm_fd, SECRET_GPA, buf, sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	st = stats(vm_fd);
	step(!ret && !strcmp(buf, SECRET) && st.pinned_pages == 1,
	     "guest writes \"%s\" at GPA %#lx, reads back \"%s\": %s; pinned %llu",
	     SECRET, SECRET_GPA, buf, ret ? errtext(ret) : "done",
	     (unsigned long long)st.pinned_pages);

	/* Pages 0..255, page 1 among them: 256 pinned in all. */
	for (i = 0, ret = 0; !ret && i < NR_TOUCH; i++) {
		byte = (uint8_t)i;
		ret = cvm_dev_guest_write(vm_fd, i * PAGE, &byte, 1);
	}
	st = stats(vm_fd);
	lck = status_kb("VmLck");
	step(!ret && st.pinned_pages == NR_TOUCH &&
	     lck == base_lck + (long)(NR_TOUCH * PAGE / 1024),
	     "guest touches %d pages: %s; pinned %llu, VmLck %ld kB (+%ld kB)",
	     NR_TOUCH, ret ? errtext(ret) : "done",
	     (unsigned long long)st.pinned_pages, lck, lck - base_lck);

	ret = lifecycle(vm_fd, CVM_VM_OP_INIT_START, CVM_STATE_TRANSIENT, &st);
	step(!ret && counts_are(&st, npages, 0, 0),
	     "INIT_START: %s; state %s, %s", ret ? errtext(ret) : "done",
	     state_name(st.state), counts(&st));

	ret = cvm_dev_share(vm_fd, SHARE_GPA, 2);
	st = stats(vm_fd);
	step(!ret && counts_are(&st, npages - 2, 2, 0),
	     "share 2 pages at GPA %#lx: %s; %s", SHARE_GPA,
	     ret ? errtext(ret) : "done", counts(&st));

	/*
	 * The touched pages move into the secure pool; the untouched ones
	 * become secure by state alone, so nothing more gets pinned.
	 */
	ret = lifecycle(vm_fd, CVM_VM_OP_INIT_DONE, CVM_STATE_SECURE, &st);
	step(!ret && counts_are(&st, 0, 2, npages - 2) &&
	     st.pinned_pages == NR_TOUCH && st.pool_pages == NR_TOUCH,
	     "INIT_DONE: %s; state %s, %s; pinned still %llu, in the secure pool %llu (%llu secure pages never touched)",
	     ret ? errtext(ret) : "done", state_name(st.state), counts(&st),
	     (unsigned long long)st.pinned_pages,
	     (unsigned long long)st.pool_pages,
	     (unsigned long long)(st.secure_pages - st.pool_pages));

	/* What the host process can see of the secret now: nothing. */
	memset(buf, 0, sizeof(buf));
	ret = cvm_dev_guest_read(vm_fd, SECRET_GPA, buf, sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	step(!ret && !strcmp(buf, SECRET) &&
	     all_zero((char *)mem + SECRET_GPA, sizeof(SECRET)),
	     "GPA %#lx: guest reads \"%s\", host memory holds %s",
	     SECRET_GPA, ret ? errtext(ret) : buf,
	     all_zero((char *)mem + SECRET_GPA, sizeof(SECRET)) ?
		     "zeros (scrubbed)" : "the plaintext (!)");

	ret = cvm_dev_lifecycle(vm_fd, CVM_VM_OP_INIT_ABORT);
	st = stats(vm_fd);
	step(ret == -EBADFD && st.state == CVM_STATE_SECURE,
	     "INIT_ABORT after INIT_DONE: refused with %s; state stays %s",
	     ret ? errtext(ret) : "success (!)", state_name(st.state));

	/* The guest's pages stay pinned until the VM fd is closed. */
	ret = lifecycle(vm_fd, CVM_VM_OP_TERMINATE, CVM_STATE_NORMAL, &st);
	step(!ret && counts_are(&st, npages, 0, 0) && !st.pool_pages,
	     "TERMINATE: %s; state %s, %s; secure pool %llu, pinned %llu",
	     ret ? errtext(ret) : "done", state_name(st.state), counts(&st),
	     (unsigned long long)st.pool_pages,
	     (unsigned long long)st.pinned_pages);

	close(vm_fd);
	munmap(mem, VM_SIZE);
	lck = status_kb("VmLck");
	ret = cvm_dev_info(dev_fd, &info);
	step(!ret && lck == base_lck && !info.nr_vms && !info.pinned_pages,
	     "close VM: VmLck %ld kB (before: %ld kB); module: %u VMs, %llu pages pinned",
	     lck, base_lck, info.nr_vms,
	     (unsigned long long)info.pinned_pages);
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : CVM_DEV_PATH;
	int ret, dev_fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = cvm_dev_open(dev, &dev_fd);
	if (ret) {
		step(false, "open %s: %s", dev, errtext(ret));
		return 1;
	}
	ret = cvm_dev_api_version(dev_fd);
	step(ret == CVM_API_VERSION,
	     "open %s: API version %d (built for %d), demand pinning %s",
	     dev, ret, CVM_API_VERSION,
	     cvm_dev_check_extension(dev_fd, CVM_CAP_DEMAND_PIN) == 1 ?
		     "supported" : "MISSING");
	demo(dev_fd);
	close(dev_fd);
	printf("cvm-demo: %s\n", failures ? "some steps FAILED" :
					    "every step as expected");
	return failures ? 1 : 0;
}
