// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-util.c - helpers shared by the in-kernel test groups.
 */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ktest.h"

int kt_dev_fd = -1;

int kt_vm_new(struct kt_vm *vm, size_t size, uint64_t pin_limit,
	      uint32_t slot_flags)
{
	int ret;

	vm->size = size;
	vm->mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		return -errno;
	ret = cvm_dev_create_vm(kt_dev_fd, pin_limit, &vm->fd);
	if (ret)
		goto err_unmap;
	ret = cvm_dev_set_memslot(vm->fd, 0, 0, size, vm->mem, slot_flags);
	if (ret)
		goto err_close;
	return 0;

err_close:
	close(vm->fd);
err_unmap:
	munmap(vm->mem, size);
	vm->fd = -1;
	vm->mem = NULL;
	return ret;
}

void kt_vm_free(struct kt_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->mem)
		munmap(vm->mem, vm->size);
	vm->fd = -1;
	vm->mem = NULL;
}

struct cvm_vm_stats kt_stats(int vm_fd)
{
	struct cvm_vm_stats st;

	if (cvm_dev_stats(vm_fd, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

struct cvm_info kt_info(void)
{
	struct cvm_info info;

	if (cvm_dev_info(kt_dev_fd, &info))
		memset(&info, 0xff, sizeof(info));
	return info;
}

int kt_drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

int kt_set_memlock(size_t bytes)
{
	struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };

	return setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
}

int kt_touch(int vm_fd, uint64_t first_page, uint64_t n)
{
	uint8_t byte;
	uint64_t i;
	int ret;

	for (i = 0; i < n; i++) {
		byte = (uint8_t)(first_page + i);
		ret = cvm_dev_guest_write(vm_fd, (first_page + i) * KT_PAGE,
					  &byte, 1);
		if (ret)
			return ret;
	}
	return 0;
}

int kt_in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fn(arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
