// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-mm.c - the module against the owner's address space: a VM closed
 * while another VM's eviction holds it, the owner's mm going away while
 * the VM fd lives on, host-side invalidations (munmap, MADV_DONTNEED)
 * racing a pin and hitting normal, secure and DMA-shared pages, which
 * memory may back a memslot, and many memslots.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "ktest.h"

#define PARAM_DIR "/sys/module/cvm/parameters/"

/* Set a test-only delay point of the module (milliseconds, 0 = off). */
static void set_param(const char *name, unsigned int ms)
{
	char path[128], val[16];
	int fd, n;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	n = snprintf(val, sizeof(val), "%u", ms);
	assert_int_equal(write(fd, val, n), n);
	close(fd);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct closer {
	int fd;
	unsigned int after_ms;
	double started, done;
};

static void *closer_thread(void *arg)
{
	struct closer *c = arg;

	usleep(c->after_ms * 1000);
	c->started = now_ms();
	close(c->fd);
	c->done = now_ms();
	return NULL;
}

#define EVICT_DELAY_MS 1000
/* Longer than the victim's close takes (a whole pool freed), even on KASAN. */
#define EVICT_PUT_DELAY_MS 6000

/*
 * VM A holds the whole pool; VM B's page-in evicts from A. With the
 * test-only delays the evictor holds A's lock for 1 s, then, A unlocked,
 * sleeps 6 s more and reads A before dropping its reference; A's fd is
 * closed 0.3 s in. The close must wait for the unlock and finish while the
 * evictor still sleeps; the eviction must count, and A must be gone (freed
 * by the evictor's put) with everything it had given back. Without the
 * evictor's reference A is freed under it: KASAN reports the read as a
 * use-after-free every time.
 */
static void test_close_victim_during_eviction(void **state)
{
	struct cvm_info base = kt_info();
	uint64_t n = base.pool_total_pages;
	struct kt_vm a, b;
	struct closer c;
	double t0, t1;
	pthread_t t;

	(void)state;
	assert_int_equal(base.pool_free_pages, n);
	assert_int_equal(kt_vm_new(&a, n * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(a.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(kt_touch(a.fd, 0, n), 0);
	assert_int_equal(cvm_dev_unshare(a.fd, 0, n), 0);
	assert_int_equal(kt_info().pool_free_pages, 0);

	assert_int_equal(kt_vm_new(&b, 4 * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(b.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(kt_touch(b.fd, 0, 1), 0);

	set_param("test_delay_ms_evict", EVICT_DELAY_MS);
	set_param("test_delay_ms_evict_put", EVICT_PUT_DELAY_MS);
	c = (struct closer){ .fd = a.fd, .after_ms = 300 };
	assert_int_equal(pthread_create(&t, NULL, closer_thread, &c), 0);
	t0 = now_ms();
	assert_int_equal(cvm_dev_unshare(b.fd, 0, 1), 0);
	t1 = now_ms();
	pthread_join(t, NULL);
	set_param("test_delay_ms_evict", 0);
	set_param("test_delay_ms_evict_put", 0);
	a.fd = -1;
	printf("# close %.0f..%.0f ms, evictor done at %.0f ms\n",
	       c.started - t0, c.done - t0, t1 - t0);

	/* The close came while the evictor held A's lock: it waited ... */
	assert_true(c.started - t0 < EVICT_DELAY_MS);
	assert_true(c.done - t0 >= EVICT_DELAY_MS - 50);
	/* ... and was over before the evictor dropped its reference. */
	assert_true(t1 - t0 >= EVICT_DELAY_MS + EVICT_PUT_DELAY_MS);
	assert_true(c.done < t1);
	assert_int_equal(kt_info().evictions, base.evictions + 1);
	assert_int_equal(kt_stats(b.fd).pool_pages, 1);
	assert_int_equal(kt_info().nr_vms, base.nr_vms + 1);
	assert_int_equal(kt_info().pool_free_pages, n - 1);
	kt_vm_free(&b);
	kt_vm_free(&a);
	assert_int_equal(kt_info().nr_vms, base.nr_vms);
	assert_int_equal(kt_info().pool_free_pages, n);
	assert_int_equal(kt_info().pinned_pages, base.pinned_pages);
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

#define OWNER_PAGES 64

/*
 * The owner (a child) creates a VM with an upfront memslot and secure
 * contents, passes the VM fd over SCM_RIGHTS and exits: its mm goes away.
 * Its pins and their charge must go with it, and the fd's new holder gets
 * -EIO for everything.
 */
static void test_owner_exit_unpins(void **state)
{
	struct cvm_info base = kt_info();
	struct cvm_vm_stats st;
	int sv[2], status, fd;
	uint8_t byte;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct kt_vm vm;

		close(sv[0]);
		KT_CHECK(!kt_vm_new(&vm, OWNER_PAGES * KT_PAGE, 0,
				    CVM_MEMSLOT_UPFRONT));
		KT_CHECK(!cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START));
		KT_CHECK(!kt_touch(vm.fd, 0, 8));
		KT_CHECK(!cvm_dev_unshare(vm.fd, 0, 8));
		KT_CHECK(kt_info().pinned_pages ==
			 base.pinned_pages + OWNER_PAGES);
		KT_CHECK(!send_fd(sv[1], vm.fd));
		_exit(0);
	}
	close(sv[1]);
	fd = recv_fd(sv[0]);
	close(sv[0]);
	assert_true(fd >= 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The owner is gone, the VM fd lives on here: nothing stays pinned. */
	assert_int_equal(kt_info().pinned_pages, base.pinned_pages);
	assert_int_equal(kt_info().pool_free_pages, base.pool_free_pages);
	assert_int_equal(kt_info().nr_vms, base.nr_vms + 1);
	assert_int_equal(cvm_dev_stats(fd, &st), -EIO);
	assert_int_equal(cvm_dev_guest_read(fd, 0, &byte, 1), -EIO);
	assert_int_equal(cvm_dev_lifecycle(fd, CVM_VM_OP_TERMINATE), -EIO);
	close(fd);
	assert_int_equal(kt_info().nr_vms, base.nr_vms);
	assert_int_equal(kt_info().pinned_pages, base.pinned_pages);
}

struct dontneed {
	void *addr;
	unsigned int after_ms;
};

static void *dontneed_thread(void *arg)
{
	struct dontneed *d = arg;

	usleep(d->after_ms * 1000);
	madvise(d->addr, KT_PAGE, MADV_DONTNEED);
	return NULL;
}

/*
 * A pin racing MADV_DONTNEED: with the test-only delay the invalidation
 * lands between the pin and its check, so the pin must be dropped and
 * taken again, and the guest's write reach the page the owner maps now.
 */
static void test_pin_races_invalidation(void **state)
{
	struct dontneed d;
	struct kt_vm vm;
	char got[8];
	pthread_t t;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 4 * KT_PAGE, 0, 0), 0);
	vm.mem[KT_PAGE] = 1; /* the page exists before the pin */
	d = (struct dontneed){ .addr = vm.mem + KT_PAGE, .after_ms = 300 };
	set_param("test_delay_ms_pin", 1000);
	assert_int_equal(pthread_create(&t, NULL, dontneed_thread, &d), 0);
	assert_int_equal(cvm_dev_guest_write(vm.fd, KT_PAGE + 8, "racy", 5), 0);
	pthread_join(t, NULL);
	set_param("test_delay_ms_pin", 0);
	assert_string_equal((char *)vm.mem + KT_PAGE + 8, "racy");
	assert_int_equal(cvm_dev_guest_read(vm.fd, KT_PAGE + 8, got, 5), 0);
	assert_string_equal(got, "racy");
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 1);
	kt_vm_free(&vm);
}

/* INIT_START .. INIT_DONE, then the guest reads what it wrote before. */
static void assert_survives_init(struct kt_vm *vm, uint64_t gpa,
				 const char *data)
{
	char got[32] = { 0 };

	assert_int_equal(cvm_dev_lifecycle(vm->fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_lifecycle(vm->fd, CVM_VM_OP_INIT_DONE), 0);
	assert_int_equal(cvm_dev_guest_read(vm->fd, gpa, got, strlen(data) + 1),
			 0);
	assert_string_equal(got, data);
}

/*
 * MADV_DONTNEED of one 4 KiB page the guest wrote (an MMU_NOTIFY_CLEAR):
 * a normal page is out of a host-side invalidation's scope, so the guest's
 * data and its touched mark survive into INIT_DONE.
 */
static void test_dontneed_keeps_normal_page(void **state)
{
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 8 * KT_PAGE, 0, 0), 0);
	assert_int_equal(
	    cvm_dev_guest_write(vm.fd, 3 * KT_PAGE + 16, "kept", 5), 0);
	assert_int_equal(madvise(vm.mem + 3 * KT_PAGE, KT_PAGE, MADV_DONTNEED),
			 0);
	assert_survives_init(&vm, 3 * KT_PAGE + 16, "kept");
	kt_vm_free(&vm);
}

static long anon_huge_kb(void)
{
	char line[256];
	long kb = -1, v;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &v) == 1)
			kb = v;
	fclose(f);
	return kb;
}

/*
 * mprotect() of part of a transparent huge page splits it (another
 * MMU_NOTIFY_CLEAR over the whole 2 MiB): the guest's data survives.
 */
static void test_thp_split_keeps_normal_page(void **state)
{
	size_t huge = 2 * KT_MIB;
	struct kt_vm vm;
	uint8_t *raw, *mem;
	long before;

	(void)state;
	raw = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(raw != MAP_FAILED);
	mem = (uint8_t *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	before = anon_huge_kb();
	if (madvise(mem, huge, MADV_HUGEPAGE)) {
		munmap(raw, 2 * huge);
		skip();
	}
	memset(mem, 0, huge);
	if (anon_huge_kb() < before + 2048) {
		munmap(raw, 2 * huge);
		skip(); /* no THP here */
	}
	assert_int_equal(cvm_dev_create_vm(kt_dev_fd, 0, &vm.fd), 0);
	assert_int_equal(cvm_dev_set_memslot(vm.fd, 0, 0, huge, mem, 0), 0);
	vm.mem = NULL;
	assert_int_equal(cvm_dev_guest_write(vm.fd, 5 * KT_PAGE, "split", 6),
			 0);
	assert_int_equal(mprotect(mem, KT_PAGE, PROT_READ), 0);
	assert_int_equal(mprotect(mem, KT_PAGE, PROT_READ | PROT_WRITE), 0);
	assert_survives_init(&vm, 5 * KT_PAGE, "split");
	kt_vm_free(&vm);
	munmap(raw, 2 * huge);
}

/*
 * A DMA-shared page the owner replaces keeps the device's page while the
 * share lasts; once the last share is gone the guest sees the owner's
 * current page (the invalidation was not forgotten).
 */
static void test_dma_shared_invalidation_deferred(void **state)
{
	struct kt_vm vm;
	char got[8];

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 4 * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_share(vm.fd, 0, 1), 0);
	assert_int_equal(cvm_dev_guest_write(vm.fd, 0, "old", 4), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 0, 1), 0);
	assert_int_equal(madvise(vm.mem, KT_PAGE, MADV_DONTNEED), 0);
	memcpy(vm.mem, "new", 4);
	/* the device's page stays pinned while shared for DMA */
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 1);
	assert_int_equal(cvm_dev_guest_read(vm.fd, 0, got, 4), 0);
	assert_string_equal(got, "old");
	assert_int_equal(cvm_dev_dma_unshare(vm.fd, 0, 1), 0);
	assert_int_equal(cvm_dev_guest_read(vm.fd, 0, got, 4), 0);
	assert_string_equal(got, "new");
	assert_int_equal(cvm_dev_guest_write(vm.fd, 0, "dev", 4), 0);
	assert_string_equal((char *)vm.mem, "dev");
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 1);
	kt_vm_free(&vm);
}

/*
 * A secure page the owner replaces keeps its contents; when the guest
 * shares it later, it sees the owner's current page, not the old pin.
 */
static void test_secure_invalidation_then_share(void **state)
{
	struct kt_vm vm;
	char got[8];

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 4 * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_guest_write(vm.fd, KT_PAGE, "sec", 4), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), 0);
	assert_int_equal(madvise(vm.mem + KT_PAGE, KT_PAGE, MADV_DONTNEED), 0);
	memcpy(vm.mem + KT_PAGE, "hst", 4);
	assert_int_equal(cvm_dev_guest_read(vm.fd, KT_PAGE, got, 4), 0);
	assert_string_equal(got, "sec");
	assert_int_equal(cvm_dev_page_out(vm.fd, KT_PAGE), 0);
	assert_int_equal(cvm_dev_guest_read(vm.fd, KT_PAGE, got, 4), 0);
	assert_string_equal(got, "sec");
	assert_int_equal(cvm_dev_share(vm.fd, KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_guest_read(vm.fd, KT_PAGE, got, 4), 0);
	assert_string_equal(got, "hst");
	kt_vm_free(&vm);
}

/* A memslot over @mem (@size bytes): the guest writes, the owner sees. */
static void assert_backing_works(uint8_t *mem, size_t size)
{
	char got[8];
	int fd;

	assert_int_equal(cvm_dev_create_vm(kt_dev_fd, 0, &fd), 0);
	assert_int_equal(cvm_dev_set_memslot(fd, 0, 0, size, mem, 0), 0);
	assert_int_equal(cvm_dev_guest_write(fd, size - KT_PAGE, "back", 5), 0);
	assert_string_equal((char *)mem + size - KT_PAGE, "back");
	assert_int_equal(cvm_dev_guest_read(fd, size - KT_PAGE, got, 5), 0);
	assert_string_equal(got, "back");
	close(fd);
	/* and upfront */
	assert_int_equal(cvm_dev_create_vm(kt_dev_fd, 0, &fd), 0);
	assert_int_equal(
	    cvm_dev_set_memslot(fd, 0, 0, size, mem, CVM_MEMSLOT_UPFRONT), 0);
	assert_int_equal(kt_stats(fd).pinned_pages, size / KT_PAGE);
	close(fd);
}

/* memfd, a /dev/shm file and MAP_SHARED anonymous memory: shmem, taken. */
static void test_backing_shmem(void **state)
{
	char path[] = "/dev/shm/cvm-ktest-XXXXXX";
	size_t size = 8 * KT_PAGE;
	uint8_t *mem;
	int fd;

	(void)state;
	fd = memfd_create("cvm-ktest", 0);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	assert_backing_works(mem, size);
	munmap(mem, size);
	close(fd);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, size), 0);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	assert_backing_works(mem, size);
	munmap(mem, size);
	close(fd);

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_backing_works(mem, size);
	munmap(mem, size);
}

static long read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", v) > 0 ? 0 : -EIO;
	if (fclose(f))
		ret = -errno;
	return ret;
}

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

/* hugetlb (MAP_HUGETLB) memory: taken, when the guest has huge pages. */
static void test_backing_hugetlb(void **state)
{
	long saved = read_long(NR_HUGEPAGES);
	size_t size = 2 * KT_MIB;
	uint8_t *mem;

	(void)state;
	assert_true(saved >= 0);
	if (saved < 2 &&
	    (write_long(NR_HUGEPAGES, 2) || read_long(NR_HUGEPAGES) < 2)) {
		write_long(NR_HUGEPAGES, saved);
		skip(); /* no 2 MiB pages to be had */
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_backing_works(mem, size);
	munmap(mem, size);
	write_long(NR_HUGEPAGES, saved);
}

/*
 * A regular file's page cache: refused with EINVAL at CVM_SET_MEMSLOT
 * (a private mapping of the test binary; a shared mapping of a ramfs file),
 * and by the pin path when such a mapping replaces a memslot's memory later.
 */
static void test_backing_file_refused(void **state)
{
	char dir[] = "/tmp/cvm-ktest-XXXXXX", path[64];
	size_t size = 4 * KT_PAGE;
	struct cvm_info base = kt_info();
	struct kt_vm vm;
	uint8_t *mem;
	int fd, vfd;

	(void)state;
	fd = open("/proc/self/exe", O_RDONLY);
	assert_true(fd >= 0);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(mem != MAP_FAILED);
	close(fd);
	assert_int_equal(cvm_dev_create_vm(kt_dev_fd, 0, &vfd), 0);
	assert_int_equal(cvm_dev_set_memslot(vfd, 0, 0, size, mem, 0), -EINVAL);
	assert_int_equal(
	    cvm_dev_set_memslot(vfd, 0, 0, size, mem, CVM_MEMSLOT_UPFRONT),
	    -EINVAL);
	close(vfd);
	munmap(mem, size);

	assert_non_null(mkdtemp(dir));
	assert_int_equal(mount("none", dir, "ramfs", 0, NULL), 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(cvm_dev_create_vm(kt_dev_fd, 0, &vfd), 0);
	assert_int_equal(cvm_dev_set_memslot(vfd, 0, 0, size, mem, 0), -EINVAL);
	close(vfd);

	/* The layout changes after CVM_SET_MEMSLOT: the pin refuses. */
	assert_int_equal(kt_vm_new(&vm, size, 0, 0), 0);
	assert_int_equal(cvm_dev_guest_write(vm.fd, 0, "anon", 5), 0);
	assert_true(mmap(vm.mem + KT_PAGE, KT_PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd, 0) == vm.mem + KT_PAGE);
	assert_int_equal(cvm_dev_guest_write(vm.fd, KT_PAGE, "file", 5),
			 -EINVAL);
	assert_int_equal(cvm_dev_guest_write(vm.fd, 2 * KT_PAGE, "anon", 5), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 2);
	kt_vm_free(&vm);
	assert_int_equal(kt_info().pinned_pages, base.pinned_pages);

	munmap(mem, size);
	close(fd);
	umount(dir);
	rmdir(dir);
}

#define NSLOTS 512

/*
 * CVM_MAX_MEMSLOTS one-page slots with one-page holes between them, added
 * in an order that is neither sorted nor reversed: each GPA reaches its
 * own host page, the holes and both ends are outside every slot, a 513th
 * slot is refused, and lookups stay right after deleting every third.
 */
static void test_many_memslots(void **state)
{
	size_t size = 2 * NSLOTS * KT_PAGE;
	uint8_t *mem, byte;
	unsigned int i, s;
	int fd;

	(void)state;
	mem = mmap(NULL, size + KT_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(cvm_dev_create_vm(kt_dev_fd, 0, &fd), 0);
	/* slot s at GPA page 2s + 1, host page 2s + 1 */
	for (i = 0; i < NSLOTS; i++) {
		s = (i * 277) % NSLOTS; /* 277 is prime to 512: a permutation */
		assert_int_equal(
		    cvm_dev_set_memslot(fd, s, (2 * s + 1) * KT_PAGE, KT_PAGE,
					mem + (2 * s + 1) * KT_PAGE, 0),
		    0);
	}
	assert_int_equal(kt_stats(fd).nr_memslots, NSLOTS);
	assert_int_equal(
	    cvm_dev_set_memslot(fd, NSLOTS, size * 4, KT_PAGE, mem, 0),
	    -ENOSPC);
	assert_int_equal(
	    cvm_dev_set_memslot(fd, NSLOTS, 2 * KT_PAGE, 2 * KT_PAGE, mem, 0),
	    -EEXIST);
	for (s = 0; s < NSLOTS; s++) {
		byte = (uint8_t)(s * 7 + 1);
		assert_int_equal(
		    cvm_dev_guest_write(fd, (2 * s + 1) * KT_PAGE + 4095, &byte,
					1),
		    0);
		assert_int_equal(mem[(2 * s + 1) * KT_PAGE + 4095], byte);
		assert_int_equal(
		    cvm_dev_guest_read(fd, 2 * s * KT_PAGE, &byte, 1), -ERANGE);
	}
	assert_int_equal(cvm_dev_guest_read(fd, size + KT_PAGE, &byte, 1),
			 -ERANGE);
	assert_int_equal(
	    cvm_dev_guest_read(fd, (size - KT_PAGE) + 4095, &byte, 1), 0);
	/* a range across a hole leaves the memslots */
	{
		uint8_t two[2];

		assert_int_equal(cvm_dev_guest_read(fd, KT_PAGE + 4095, two, 2),
				 -ERANGE);
	}
	for (s = 0; s < NSLOTS; s += 3)
		assert_int_equal(cvm_dev_delete_memslot(fd, s), 0);
	for (s = 0; s < NSLOTS; s++) {
		int want = s % 3 ? 0 : -ERANGE;

		assert_int_equal(
		    cvm_dev_guest_read(fd, (2 * s + 1) * KT_PAGE, &byte, 1),
		    want);
		if (!want)
			assert_int_equal(byte,
					 0); /* offset 0 was never written */
	}
	/* a deleted slot's place can be taken again */
	assert_int_equal(cvm_dev_set_memslot(fd, 0, KT_PAGE, KT_PAGE, mem, 0),
			 0);
	assert_int_equal(cvm_dev_guest_read(fd, KT_PAGE, &byte, 1), 0);
	close(fd);
	munmap(mem, size + KT_PAGE);
}

int kt_run_mm(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_victim_during_eviction),
		cmocka_unit_test(test_owner_exit_unpins),
		cmocka_unit_test(test_pin_races_invalidation),
		cmocka_unit_test(test_dontneed_keeps_normal_page),
		cmocka_unit_test(test_thp_split_keeps_normal_page),
		cmocka_unit_test(test_dma_shared_invalidation_deferred),
		cmocka_unit_test(test_secure_invalidation_then_share),
		cmocka_unit_test(test_backing_shmem),
		cmocka_unit_test(test_backing_hugetlb),
		cmocka_unit_test(test_backing_file_refused),
		cmocka_unit_test(test_many_memslots),
	};

	return cmocka_run_group_tests_name("mm", tests, NULL, NULL);
}
