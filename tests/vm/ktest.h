/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktest.h - helpers of the in-kernel test suite (cvm-ktest), which runs in
 * a booted Debian kernel with cvm.ko loaded (see README.md).
 */
#ifndef KTEST_H
#define KTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "cvm-dev.h"

#define KT_PAGE 4096UL
#define KT_MIB (1024UL * 1024)

/* /dev/cvm, opened once by main(). */
extern int kt_dev_fd;

/**
 * struct kt_vm - a VM with one memslot (id 0) at GPA 0 over an anonymous
 * MAP_NORESERVE mapping of the test process.
 */
struct kt_vm {
	int fd;
	uint8_t *mem;
	size_t size;
};

int kt_vm_new(struct kt_vm *vm, size_t size, uint64_t pin_limit,
	      uint32_t slot_flags);
void kt_vm_free(struct kt_vm *vm);
struct cvm_vm_stats kt_stats(int vm_fd);
struct cvm_info kt_info(void);
/*
 * A field of /proc/self/status in kB ("VmLck", "VmPin"), or -1: the table
 * driver's (tests/table/tvm.c), linked into cvm-ktest too.
 */
long status_kb(const char *field);
/* Drop CAP_IPC_LOCK from the effective set (so RLIMIT_MEMLOCK applies). */
int kt_drop_ipc_lock(void);
int kt_set_memlock(size_t bytes);
/* Write one byte as the guest into each of pages [first, first + n). */
int kt_touch(int vm_fd, uint64_t first_page, uint64_t n);

/*
 * Run fn in a forked child; returns the child's exit status (0 = all its
 * KT_CHECKs held), or -1 when it died of a signal. cmocka's asserts
 * must not be used in the child: KT_CHECK exits with the failing line.
 */
int kt_in_child(void (*fn)(void *), void *arg);
#define KT_CHECK(cond)                                                      \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "child check failed %s:%d: %s\n",   \
				__FILE__, __LINE__, #cond);                 \
			_exit(__LINE__ % 250 + 1);                          \
		}                                                           \
	} while (0)

int kt_run_input(void);
int kt_run_pin(void);
int kt_run_threads(void);
int kt_run_secure(void);
int kt_run_dma(void);
int kt_run_stress(void);
int kt_run_bounds(void);
int kt_run_mm(void);

#endif /* KTEST_H */
