// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_vm.c - the VM object: its file descriptor, ioctl dispatch and the
 * secure lifecycle (INIT_START / INIT_DONE / INIT_ABORT / TERMINATE).
 */
#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cvm_internal.h"

static const struct file_operations cvm_vm_fops;

/**
 * cvm_vm_lock() - lock a VM for an operation
 * @vm: the VM
 *
 * Applies the host-side invalidations recorded since the last operation
 * first, so no operation sees a stale pin of a shared or normal page.
 */
void cvm_vm_lock(struct cvm_vm *vm)
{
	mutex_lock(&vm->lock);
	cvm_memslot_zap_drain(vm);
}

/* The last reference is gone: nobody can reach the VM any more. */
void cvm_vm_release_kref(struct kref *ref)
{
	struct cvm_vm *vm = container_of(ref, struct cvm_vm, ref);

	cvm_core_fini(&vm->core);
	put_task_struct(vm->task);
	mmdrop(vm->mm);
	mutex_destroy(&vm->lock);
	kfree(vm->by_gfn);
	kfree(vm);
}

/*
 * Unpin and uncharge everything, free the secure contents: the owner's mm
 * is going away (or the VM is). From here on every ioctl gets -EIO.
 */
static void cvm_vm_kill(struct cvm_vm *vm)
{
	struct cvm_memslot *slot;

	mutex_lock(&vm->lock);
	if (!vm->dead) {
		WRITE_ONCE(vm->dead, true);
		cvm_core_drop_all(&vm->core);
		list_for_each_entry(slot, &vm->slots, node)
			cvm_unpin_slot(vm, slot);
	}
	mutex_unlock(&vm->lock);
}

/*
 * The owner's mm lost its last user (exit, exec) while the VM fd lives on
 * elsewhere (fork, SCM_RIGHTS): its pins must not outlive their charge.
 * Called without mmap_lock, before the mm's mappings are torn down.
 */
static void cvm_vm_mm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	cvm_vm_kill(container_of(mn, struct cvm_vm, mn));
}

static const struct mmu_notifier_ops cvm_vm_mn_ops = {
	.release = cvm_vm_mm_release,
};

/* The fd's release: tear down, then drop the fd's reference. */
static void cvm_vm_destroy(struct cvm_vm *vm)
{
	/* Off the list first: no new evictor can find it. */
	cvm_vm_list_del(vm);
	/* Runs ->release unless the mm's exit already did. */
	mmu_notifier_unregister(&vm->mn, vm->mm);
	mutex_lock(&vm->lock);
	cvm_core_drop_all(&vm->core);
	cvm_memslot_delete_all(vm);
	mutex_unlock(&vm->lock);
	cvm_vm_put(vm);
}

/**
 * cvm_vm_create() - make a VM owned by the calling process
 * @arg: validated creation arguments
 *
 * Return: the new VM fd, or -errno.
 */
int cvm_vm_create(const struct cvm_create_vm *arg)
{
	u64 pin_limit_pages;
	struct cvm_vm *vm;
	int fd;

	if (!current->mm)
		return -EINVAL;
	fd = cvm_core_pin_limit(arg->pin_limit_bytes, &pin_limit_pages);
	if (fd)
		return fd;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	vm->by_gfn =
	    kcalloc(CVM_MAX_MEMSLOTS, sizeof(*vm->by_gfn), GFP_KERNEL_ACCOUNT);
	if (!vm->by_gfn) {
		fd = -ENOMEM;
		goto err_free;
	}
	fd = cvm_core_init(&vm->core, 0);
	if (fd)
		goto err_core;
	mutex_init(&vm->lock);
	kref_init(&vm->ref);
	INIT_LIST_HEAD(&vm->slots);
	vm->core.pin_limit_pages = pin_limit_pages;
	/* VFIO's model: the right to bypass the limit is fixed at creation. */
	vm->lock_cap = capable(CAP_IPC_LOCK);
	vm->mn.ops = &cvm_vm_mn_ops;
	fd = mmu_notifier_register(&vm->mn, current->mm);
	if (fd)
		goto err_core;
	mmgrab(current->mm);
	vm->mm = current->mm;
	get_task_struct(current->group_leader);
	vm->task = current->group_leader;
	cvm_vm_list_add(vm);

	fd = anon_inode_getfd("cvm-vm", &cvm_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		cvm_vm_destroy(vm);
	return fd;

err_core:
	cvm_core_fini(&vm->core);
err_free:
	kfree(vm->by_gfn);
	kfree(vm);
	return fd;
}

static int cvm_vm_release(struct inode *inode, struct file *file)
{
	cvm_vm_destroy(file->private_data);
	return 0;
}

static int cvm_vm_lifecycle(struct cvm_vm *vm, enum cvm_vm_op op)
{
	int ret;

	cvm_vm_lock(vm);
	ret = cvm_core_lifecycle(&vm->core, op);
	cvm_memslot_unstale_range(vm, 0, U64_MAX);
	mutex_unlock(&vm->lock);
	return ret;
}

static long cvm_vm_set_memslot(struct cvm_vm *vm, void __user *uarg)
{
	struct cvm_user_memslot arg;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~CVM_MEMSLOT_FLAGS || arg.pad ||
	    !cvm_all_zero(arg.reserved, ARRAY_SIZE(arg.reserved)) ||
	    cvm_core_fault_around_check(arg.flags & CVM_MEMSLOT_UPFRONT,
					arg.flags & CVM_MEMSLOT_FAULT_AROUND,
					arg.fault_around))
		return -EINVAL;
	cvm_vm_lock(vm);
	ret = cvm_memslot_add(vm, &arg);
	mutex_unlock(&vm->lock);
	return ret;
}

static long cvm_vm_delete_memslot(struct cvm_vm *vm, void __user *uarg)
{
	struct cvm_user_memslot arg;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.gpa || arg.size || arg.uaddr ||
	    arg.fault_around || arg.pad ||
	    !cvm_all_zero(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	cvm_vm_lock(vm);
	ret = cvm_memslot_delete(vm, arg.slot);
	mutex_unlock(&vm->lock);
	return ret;
}

static long cvm_vm_guest_access(struct cvm_vm *vm, void __user *uarg)
{
	struct cvm_guest_access arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~CVM_ACCESS_FLAGS || !arg.len ||
	    arg.len > CVM_ACCESS_MAX ||
	    !cvm_all_zero(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	return cvm_guest_access(vm, &arg);
}

static long cvm_vm_get_stats(struct cvm_vm *vm, void __user *uarg)
{
	struct cvm_vm_stats st = {};

	cvm_vm_lock(vm);
	cvm_core_stats(&vm->core, &st);
	st.charged_bytes = vm->core.nr_pinned << PAGE_SHIFT;
	st.memlock_limit_bytes = cvm_pin_memlock_limit(vm);
	st.nr_memslots = vm->nr_slots;
	mutex_unlock(&vm->lock);
	if (copy_to_user(uarg, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

static long cvm_vm_get_measurement(struct cvm_vm *vm, void __user *uarg)
{
	struct cvm_measurement m = {};

	mutex_lock(&vm->lock);
	cvm_measure_read(vm->core.measure, &m);
	mutex_unlock(&vm->lock);
	if (copy_to_user(uarg, &m, sizeof(m)))
		return -EFAULT;
	return 0;
}

static long cvm_vm_snapshot(struct cvm_vm *vm, void __user *uarg)
{
	struct cvm_snapshot arg;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!cvm_all_zero(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	ret = cvm_snapshot(vm, &arg);
	/* The caller learns the size it needs from a short buffer too. */
	if ((!ret || ret == -ENOSPC || ret == -E2BIG) &&
	    copy_to_user(uarg, &arg, sizeof(arg)))
		return -EFAULT;
	return ret;
}

/* Page operations: the ioctl's own fields, then the core's checks. */
static long cvm_vm_page_op(struct cvm_vm *vm, unsigned int cmd,
			   void __user *uarg)
{
	struct cvm_page_op arg;
	enum cvm_page_cmd pcmd;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!cvm_all_zero(arg.reserved, ARRAY_SIZE(arg.reserved)) ||
	    (arg.page_shift && arg.page_shift != PAGE_SHIFT))
		return -EINVAL;
	switch (cmd) {
	case CVM_PAGE_IN:
		if (arg.flags & ~CVM_PAGE_FLAGS)
			return -EINVAL;
		pcmd = arg.flags & CVM_PAGE_SHARED ? CVM_PAGE_CMD_IN_SHARED
						   : CVM_PAGE_CMD_IN;
		break;
	case CVM_PAGE_OUT:
		pcmd = CVM_PAGE_CMD_OUT;
		break;
	case CVM_SHARE:
		pcmd = CVM_PAGE_CMD_SHARE;
		break;
	case CVM_UNSHARE:
		pcmd = CVM_PAGE_CMD_UNSHARE;
		break;
	case CVM_DMA_SHARE:
		pcmd = CVM_PAGE_CMD_DMA_SHARE;
		break;
	case CVM_DMA_UNSHARE:
		pcmd = CVM_PAGE_CMD_DMA_UNSHARE;
		break;
	default:
		return -ENOTTY;
	}
	if (cmd != CVM_PAGE_IN && arg.flags)
		return -EINVAL;

	cvm_vm_lock(vm);
	ret = cvm_core_page_op(&vm->core, pcmd, arg.gpa, arg.nr_pages);
	/* A page shared, or its last DMA share ended: drop stale pins. */
	cvm_memslot_unstale_range(vm, arg.gpa >> PAGE_SHIFT, arg.nr_pages);
	mutex_unlock(&vm->lock);
	return ret;
}

/**
 * cvm_guest_access() - CVM_GUEST_ACCESS
 * @vm: the VM, unlocked; the caller is its owner
 * @arg: flags, length and reserved fields checked
 *
 * The caller's bytes are copied in before the VM is touched, so a bad
 * buffer changes nothing (cvm_access_locked() for the rest).
 *
 * Return: 0; -ERANGE when the range leaves the memslots; -EFAULT for a
 * bad buffer or an unpinnable host page; -ENOMEM over a pin limit or with
 * the pool exhausted; -EBADMSG when paged-out contents were tampered with.
 */
int cvm_guest_access(struct cvm_vm *vm, const struct cvm_guest_access *arg)
{
	bool write = arg->flags & CVM_ACCESS_WRITE;
	void __user *ubuf = u64_to_user_ptr(arg->uaddr);
	u64 first, npages;
	char *buf;
	int ret;

	ret = cvm_access_span(arg->gpa, arg->len, &first, &npages);
	if (ret)
		return ret;
	buf = kvmalloc(arg->len, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	if (write && copy_from_user(buf, ubuf, arg->len)) {
		ret = -EFAULT;
		goto out_free;
	}

	cvm_vm_lock(vm);
	ret = cvm_access_locked(&vm->core, arg->gpa, buf, arg->len, write);
	mutex_unlock(&vm->lock);

	if (!ret && !write && copy_to_user(ubuf, buf, arg->len))
		ret = -EFAULT;
out_free:
	kvfree(buf);
	return ret;
}

/**
 * cvm_snapshot() - CVM_SNAPSHOT
 * @vm: the VM, unlocked
 * @arg: the caller's buffer description; nr_entries is set on return
 *
 * The runs are counted, their buffer allocated and filled in one hold of
 * the VM lock, so the count and the contents are one instant; the walks
 * cost the VM's sparse maps and pins, never its size.
 *
 * Return: 0; -EINVAL when the capacity exceeds CVM_SNAPSHOT_MAX_ENTRIES;
 * -ENOSPC when the buffer is too small and -E2BIG when the snapshot needs
 * more than CVM_SNAPSHOT_MAX_ENTRIES runs (nr_entries then says how many
 * are needed); -EINTR on a fatal signal; -EFAULT; -ENOMEM.
 */
int cvm_snapshot(struct cvm_vm *vm, struct cvm_snapshot *arg)
{
	struct cvm_gfn_run *runs;
	u64 n, filled;
	int ret;

	if (arg->capacity > CVM_SNAPSHOT_MAX_ENTRIES)
		return -EINVAL;
	cvm_vm_lock(vm);
	ret = cvm_snapshot_runs(&vm->core, NULL, 0, &n);
	if (ret)
		goto out_unlock;
	arg->nr_entries = min_t(u64, n, U32_MAX);
	if (n > CVM_SNAPSHOT_MAX_ENTRIES) {
		ret = -E2BIG;
		goto out_unlock;
	}
	if (n > arg->capacity) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	runs = kvmalloc_array(n ? n : 1, sizeof(*runs),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!runs) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	ret = cvm_snapshot_runs(&vm->core, runs, n, &filled);
	/* Nothing changed in between: the lock was held throughout. */
	if (!ret && WARN_ON_ONCE(filled != n))
		ret = -EIO;
	mutex_unlock(&vm->lock);

	/* Copied out after unlocking: the contents are of one instant. */
	if (!ret && copy_to_user(u64_to_user_ptr(arg->uaddr), runs,
				 (size_t)n * sizeof(*runs)))
		ret = -EFAULT;
	kvfree(runs);
	return ret;

out_unlock:
	mutex_unlock(&vm->lock);
	return ret;
}

static long cvm_vm_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct cvm_vm *vm = file->private_data;
	void __user *uarg = (void __user *)arg;

	/* The owner's mm is gone: nothing was left pinned, nothing works. */
	if (READ_ONCE(vm->dead))
		return -EIO;
	/* Reading the counters is harmless from any holder of the fd. */
	if (cmd == CVM_GET_STATS)
		return cvm_vm_get_stats(vm, uarg);
	if (cmd == CVM_GET_MEASUREMENT)
		return cvm_vm_get_measurement(vm, uarg);
	/* Addresses and charges are the owner's: as KVM, refuse others. */
	if (current->mm != vm->mm)
		return -EIO;

	switch (cmd) {
	case CVM_SET_MEMSLOT:
		return cvm_vm_set_memslot(vm, uarg);
	case CVM_DELETE_MEMSLOT:
		return cvm_vm_delete_memslot(vm, uarg);
	case CVM_INIT_START:
		return arg ? -EINVAL : cvm_vm_lifecycle(vm, CVM_VM_OP_INIT_START);
	case CVM_INIT_DONE:
		return arg ? -EINVAL : cvm_vm_lifecycle(vm, CVM_VM_OP_INIT_DONE);
	case CVM_INIT_ABORT:
		return arg ? -EINVAL : cvm_vm_lifecycle(vm, CVM_VM_OP_INIT_ABORT);
	case CVM_TERMINATE:
		return arg ? -EINVAL : cvm_vm_lifecycle(vm, CVM_VM_OP_TERMINATE);
	case CVM_GUEST_ACCESS:
		return cvm_vm_guest_access(vm, uarg);
	case CVM_PAGE_IN:
	case CVM_PAGE_OUT:
	case CVM_SHARE:
	case CVM_UNSHARE:
	case CVM_DMA_SHARE:
	case CVM_DMA_UNSHARE:
		return cvm_vm_page_op(vm, cmd, uarg);
	case CVM_SNAPSHOT:
		return cvm_vm_snapshot(vm, uarg);
	}
	return -ENOTTY;
}

static const struct file_operations cvm_vm_fops = {
	.owner = THIS_MODULE,
	.release = cvm_vm_release,
	.unlocked_ioctl = cvm_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};
