/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cvm.h - userspace API of the cvm confidential-VM module (/dev/cvm).
 *
 * Shared by the module, the daemon's backends and the tests. Every struct
 * uses fixed-size fields only, explicit padding, and reserved fields that
 * must be zero; a zero value means "unset". The full contract, with the
 * errors of each ioctl, is docs/uapi.md.
 */
#ifndef _UAPI_CVM_H
#define _UAPI_CVM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define CVM_API_VERSION 1
#define CVM_DEVICE_NAME "cvm"

/* Extensions, queried with CVM_CHECK_EXTENSION. */
#define CVM_CAP_DEMAND_PIN	1	/* memslots pin on first use */
#define CVM_CAP_UPFRONT_PIN	2	/* CVM_MEMSLOT_UPFRONT */
#define CVM_CAP_VM_PIN_LIMIT	3	/* cvm_create_vm.pin_limit_bytes */
#define CVM_CAP_PAGE_STATE	4	/* page-in/out, share/unshare */
#define CVM_CAP_SECURE_MEMORY	5	/* secure pool, AES-GCM page-out */
#define CVM_CAP_DMA_SHARE	6	/* CVM_DMA_SHARE / CVM_DMA_UNSHARE */
#define CVM_CAP_SNAPSHOT	7	/* CVM_SNAPSHOT */
#define CVM_CAP_MEASUREMENT	8	/* CVM_GET_MEASUREMENT */
#define CVM_CAP_FAULT_AROUND	9	/* CVM_MEMSLOT_FAULT_AROUND */

/* VM lifecycle states (DESIGN §2), as reported in cvm_vm_stats.state. */
#define CVM_STATE_NORMAL	0
#define CVM_STATE_TRANSIENT	1
#define CVM_STATE_SECURE	2

/* GFN states (DESIGN §3), as reported in struct cvm_gfn_run.state. */
#define CVM_GFN_STATE_NORMAL	0
#define CVM_GFN_STATE_SHARED	1
#define CVM_GFN_STATE_SECURE	2

/**
 * struct cvm_create_vm - argument of CVM_CREATE_VM
 * @pin_limit_bytes: per-VM cap on pinned guest memory, on top of the
 *	owner's RLIMIT_MEMLOCK; 0 means no per-VM cap. Rounded down to pages.
 * @flags: must be 0.
 * @pad: must be 0.
 * @reserved: must be 0.
 */
struct cvm_create_vm {
	__u64 pin_limit_bytes;
	__u32 flags;
	__u32 pad;
	__u64 reserved[4];
};

/* cvm_memslot.flags */
#define CVM_MEMSLOT_UPFRONT	(1U << 0)	/* pin the whole slot now */
#define CVM_MEMSLOT_FAULT_AROUND (1U << 1)	/* pin runs of fault_around */
#define CVM_MEMSLOT_FLAGS	(CVM_MEMSLOT_UPFRONT | CVM_MEMSLOT_FAULT_AROUND)

/* Largest cvm_user_memslot.fault_around: 2 MiB of 4 KiB pages. */
#define CVM_FAULT_AROUND_MAX	512

/*
 * Bounds of CVM_SET_MEMSLOT: memslots per VM (ENOSPC past it) and bytes
 * in one memslot (E2BIG past it), so every range a caller names is bounded
 * by what it registered.
 */
#define CVM_MAX_MEMSLOTS	512
#define CVM_MAX_MEMSLOT_SIZE	(1ULL << 46)	/* 64 TiB */

/**
 * struct cvm_user_memslot - argument of CVM_SET_MEMSLOT and CVM_DELETE_MEMSLOT
 * @slot: caller-chosen slot id, unique within the VM.
 * @flags: CVM_MEMSLOT_*; 0 is demand pinning.
 * @gpa: guest-physical base, page aligned.
 * @size: bytes, page aligned, non-zero.
 * @uaddr: base of the range in the caller's own address space, page
 *	aligned, mapped read-write for the whole size.
 * @fault_around: with CVM_MEMSLOT_FAULT_AROUND, pages in the aligned run
 *	a first guest access pins at once: a power of two, 2 ..
 *	CVM_FAULT_AROUND_MAX; 0 without the flag.
 * @pad: must be 0.
 * @reserved: must be 0.
 *
 * CVM_DELETE_MEMSLOT reads only @slot; every other field must be 0.
 */
struct cvm_user_memslot {
	__u32 slot;
	__u32 flags;
	__u64 gpa;
	__u64 size;
	__u64 uaddr;
	__u32 fault_around;
	__u32 pad;
	__u64 reserved[1];
};

/* cvm_guest_access.flags */
#define CVM_ACCESS_WRITE	(1U << 0)
#define CVM_ACCESS_FLAGS	CVM_ACCESS_WRITE

/* Largest single emulated guest access, in bytes. */
#define CVM_ACCESS_MAX		(1U << 20)

/**
 * struct cvm_guest_access - argument of CVM_GUEST_ACCESS
 * @gpa: first guest-physical byte; any alignment.
 * @uaddr: caller buffer the bytes are read from (write) or into (read).
 * @len: bytes, 1..CVM_ACCESS_MAX; the range may cross pages and memslots
 *	but must lie in memslots entirely.
 * @flags: CVM_ACCESS_WRITE for a guest write, 0 for a guest read.
 * @reserved: must be 0.
 */
struct cvm_guest_access {
	__u64 gpa;
	__u64 uaddr;
	__u32 len;
	__u32 flags;
	__u64 reserved[2];
};

/* cvm_page_op.flags */
#define CVM_PAGE_SHARED		(1U << 0)	/* CVM_PAGE_IN: share instead */
#define CVM_PAGE_FLAGS		CVM_PAGE_SHARED

/**
 * struct cvm_page_op - argument of the page operations
 * @gpa: first page, page aligned.
 * @nr_pages: pages in the range; 0 means 1. CVM_PAGE_IN and CVM_PAGE_OUT
 *	take exactly one page.
 * @flags: CVM_PAGE_SHARED (CVM_PAGE_IN only), else 0.
 * @page_shift: log2 of the page size the caller means; 0 means the
 *	kernel's PAGE_SHIFT, anything else but PAGE_SHIFT is refused.
 * @reserved: must be 0.
 */
struct cvm_page_op {
	__u64 gpa;
	__u64 nr_pages;
	__u32 flags;
	__u32 page_shift;
	__u64 reserved[2];
};

/**
 * struct cvm_vm_stats - result of CVM_GET_STATS
 * @state: CVM_STATE_*.
 * @pad: 0.
 * @nr_pages: guest pages in all memslots.
 * @normal_pages: GFNs in the normal state.
 * @shared_pages: GFNs in the shared state.
 * @secure_pages: GFNs in the secure state (resident or paged out).
 * @secure_paged_out: of @secure_pages, those paged out.
 * @pinned_pages: host pages this VM holds pinned now.
 * @charged_bytes: locked memory this VM charges to its owner's mm now.
 * @pin_limit_bytes: the per-VM cap (0: none).
 * @memlock_limit_bytes: the owner's RLIMIT_MEMLOCK when last read, or
 *	~0 when CAP_IPC_LOCK, captured at creation, bypasses it.
 * @nr_memslots: registered memslots.
 * @pad2: 0.
 * @pool_pages: secure-pool pages holding this VM's resident secure GFNs.
 * @evictions: resident secure pages of this VM paged out to make room in
 *	the pool.
 * @dma_shared_pages: GFNs with a DMA-share refcount above zero.
 * @measured_pages: pages extended into the launch measurement.
 * @reserved: 0.
 */
struct cvm_vm_stats {
	__u32 state;
	__u32 pad;
	__u64 nr_pages;
	__u64 normal_pages;
	__u64 shared_pages;
	__u64 secure_pages;
	__u64 secure_paged_out;
	__u64 pinned_pages;
	__u64 charged_bytes;
	__u64 pin_limit_bytes;
	__u64 memlock_limit_bytes;
	__u32 nr_memslots;
	__u32 pad2;
	__u64 pool_pages;
	__u64 evictions;
	__u64 dma_shared_pages;
	__u64 measured_pages;
	__u64 reserved[4];
};

/**
 * struct cvm_info - result of CVM_GET_INFO (module-wide counters)
 * @api_version: CVM_API_VERSION.
 * @nr_vms: VMs alive (VM fds not yet released).
 * @pinned_pages: host pages pinned by all VMs.
 * @charged_bytes: locked memory charged by all VMs.
 * @pool_total_pages: pages in the secure pool (module parameter pool_mb).
 * @pool_free_pages: of those, not holding any VM's secure page.
 * @evictions: resident secure pages paged out to make room, all VMs.
 * @reserved: 0.
 */
struct cvm_info {
	__u32 api_version;
	__u32 nr_vms;
	__u64 pinned_pages;
	__u64 charged_bytes;
	__u64 pool_total_pages;
	__u64 pool_free_pages;
	__u64 evictions;
	__u64 reserved[5];
};

/* struct cvm_gfn_run.flags */
#define CVM_GFN_PAGED_OUT	(1U << 0)	/* secure, encrypted in host page */
#define CVM_GFN_RESIDENT	(1U << 1)	/* secure, contents in the pool */
#define CVM_GFN_PINNED		(1U << 2)	/* host page pinned */

/**
 * struct cvm_gfn_run - consecutive GFNs of equal state in a snapshot
 * @gfn: first guest frame number (GPA >> page shift) of the run.
 * @nr_pages: GFNs in the run, at least 1: [@gfn, @gfn + @nr_pages).
 * @state: CVM_GFN_STATE_*, of every GFN of the run.
 * @flags: CVM_GFN_* flags, of every GFN of the run.
 * @pad: 0.
 * @dma_refs: DMA-share refcount, of every GFN of the run.
 *
 * A run never spans a GFN outside every memslot; it may span the boundary
 * of two adjacent memslots. Two consecutive runs of a snapshot that touch
 * differ in @state, @flags or @dma_refs. A secure GFN that is neither
 * resident nor paged out has never been touched since it became secure:
 * it reads as zeros.
 */
struct cvm_gfn_run {
	__u64 gfn;
	__u64 nr_pages;
	__u8 state;
	__u8 flags;
	__u16 pad;
	__u32 dma_refs;
};

/* The most entries one CVM_SNAPSHOT call takes (24 MiB of runs). */
#define CVM_SNAPSHOT_MAX_ENTRIES	(1U << 20)

/**
 * struct cvm_snapshot - argument of CVM_SNAPSHOT
 * @uaddr: caller buffer of @capacity struct cvm_gfn_run.
 * @capacity: entries the buffer holds, at most CVM_SNAPSHOT_MAX_ENTRIES.
 * @nr_entries: out: runs written, covering every GFN of every memslot
 *	once, in GFN order; on -ENOSPC or -E2BIG, the runs needed.
 * @reserved: must be 0.
 */
struct cvm_snapshot {
	__u64 uaddr;
	__u32 capacity;
	__u32 nr_entries;
	__u64 reserved[2];
};

#define CVM_DIGEST_SIZE		32	/* SHA-256 */
#define CVM_MEASUREMENT_SEALED	(1U << 0)

/**
 * struct cvm_measurement - result of CVM_GET_MEASUREMENT
 * @flags: CVM_MEASUREMENT_SEALED once INIT_DONE has completed.
 * @pad: 0.
 * @nr_pages: pages extended into the digest.
 * @digest: SHA-256 over (GPA as le64, page contents) of every page that
 *	entered secure memory from the host while the VM was transient, in
 *	order; all zeros until sealed.
 * @reserved: 0.
 */
struct cvm_measurement {
	__u32 flags;
	__u32 pad;
	__u64 nr_pages;
	__u8 digest[CVM_DIGEST_SIZE];
	__u64 reserved[2];
};

#define CVMIO 0xC7

/* On /dev/cvm */

/**
 * CVM_GET_API_VERSION - returns CVM_API_VERSION as the ioctl's value.
 */
#define CVM_GET_API_VERSION	_IO(CVMIO, 0x00)
/**
 * CVM_CHECK_EXTENSION - the argument is a CVM_CAP_*; returns 1 when
 * supported, 0 when not.
 */
#define CVM_CHECK_EXTENSION	_IO(CVMIO, 0x01)
/**
 * CVM_CREATE_VM - creates a VM owned by the calling process and returns
 * a new VM file descriptor (O_CLOEXEC) as the ioctl's value.
 */
#define CVM_CREATE_VM		_IOWR(CVMIO, 0x02, struct cvm_create_vm)
/**
 * CVM_GET_INFO - fills struct cvm_info.
 */
#define CVM_GET_INFO		_IOWR(CVMIO, 0x03, struct cvm_info)

/* On a VM fd, only from the process that created the VM */

/**
 * CVM_SET_MEMSLOT - registers guest memory; pins nothing unless
 * CVM_MEMSLOT_UPFRONT.
 */
#define CVM_SET_MEMSLOT		_IOWR(CVMIO, 0x10, struct cvm_user_memslot)
/**
 * CVM_DELETE_MEMSLOT - unpins and uncharges a memslot's pages, forgets it.
 */
#define CVM_DELETE_MEMSLOT	_IOWR(CVMIO, 0x11, struct cvm_user_memslot)
/** CVM_INIT_START - normal -> transient. */
#define CVM_INIT_START		_IO(CVMIO, 0x20)
/** CVM_INIT_DONE - transient -> secure; normal GFNs become secure. */
#define CVM_INIT_DONE		_IO(CVMIO, 0x21)
/** CVM_INIT_ABORT - transient -> normal; every GFN becomes normal. */
#define CVM_INIT_ABORT		_IO(CVMIO, 0x22)
/** CVM_TERMINATE - any state -> normal; every GFN becomes normal. */
#define CVM_TERMINATE		_IO(CVMIO, 0x23)
/**
 * CVM_GUEST_ACCESS - emulated guest read or write of bytes at a GPA;
 * pins each host page it touches on first use.
 */
#define CVM_GUEST_ACCESS	_IOWR(CVMIO, 0x30, struct cvm_guest_access)
/** CVM_GET_STATS - fills struct cvm_vm_stats. */
#define CVM_GET_STATS		_IOWR(CVMIO, 0x31, struct cvm_vm_stats)
/** CVM_PAGE_IN - one GFN to secure (or shared with CVM_PAGE_SHARED). */
#define CVM_PAGE_IN		_IOWR(CVMIO, 0x40, struct cvm_page_op)
/** CVM_PAGE_OUT - one secure resident GFN to secure paged out. */
#define CVM_PAGE_OUT		_IOWR(CVMIO, 0x41, struct cvm_page_op)
/** CVM_SHARE - a range of GFNs to shared. */
#define CVM_SHARE		_IOWR(CVMIO, 0x42, struct cvm_page_op)
/** CVM_UNSHARE - a range of GFNs to secure. */
#define CVM_UNSHARE		_IOWR(CVMIO, 0x43, struct cvm_page_op)
/** CVM_DMA_SHARE - take a DMA share on each GFN of a range. */
#define CVM_DMA_SHARE		_IOWR(CVMIO, 0x44, struct cvm_page_op)
/** CVM_DMA_UNSHARE - drop a DMA share on each GFN of a range. */
#define CVM_DMA_UNSHARE		_IOWR(CVMIO, 0x45, struct cvm_page_op)
/*
 * CVM_SNAPSHOT - copy the GFNs' states out as runs, consistent at one
 * instant. 0x50 was the per-GFN snapshot of struct cvm_gfn_info; it is
 * gone and its number is not reused.
 */
#define CVM_SNAPSHOT		_IOWR(CVMIO, 0x52, struct cvm_snapshot)
/** CVM_GET_MEASUREMENT - the launch measurement. */
#define CVM_GET_MEASUREMENT	_IOWR(CVMIO, 0x51, struct cvm_measurement)

#endif /* _UAPI_CVM_H */
