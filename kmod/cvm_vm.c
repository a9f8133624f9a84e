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

static void cvm_vm_free(struct cvm_vm *vm)
{
	/* Off the list first, then wait for an evictor holding our lock. */
	cvm_vm_list_del(vm);
	mutex_lock(&vm->lock);
	cvm_secure_discard_all(vm);
	cvm_memslot_delete_all(vm);
	cvm_gfn_drop_all(vm);
	mutex_unlock(&vm->lock);
	WARN_ON_ONCE(vm->nr_pinned || vm->nr_resident || vm->nr_dma_shared);
	xa_destroy(&vm->gfn_states);
	xa_destroy(&vm->spages);
	xa_destroy(&vm->dma_refs);
	cvm_measure_free(vm->measure);
	cvm_crypt_free(vm->crypt);
	put_task_struct(vm->task);
	mmdrop(vm->mm);
	mutex_destroy(&vm->lock);
	kfree(vm);
}

/**
 * cvm_vm_create() - make a VM owned by the calling process
 * @arg: validated creation arguments
 *
 * Return: the new VM fd, or -errno.
 */
int cvm_vm_create(const struct cvm_create_vm *arg)
{
	struct cvm_measure *measure;
	struct cvm_crypt *crypt;
	struct cvm_vm *vm;
	int fd;

	if (!current->mm)
		return -EINVAL;
	crypt = cvm_crypt_new();
	if (IS_ERR(crypt))
		return PTR_ERR(crypt);
	measure = cvm_measure_new();
	if (IS_ERR(measure)) {
		cvm_crypt_free(crypt);
		return PTR_ERR(measure);
	}
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm) {
		cvm_measure_free(measure);
		cvm_crypt_free(crypt);
		return -ENOMEM;
	}
	vm->crypt = crypt;
	vm->measure = measure;
	mutex_init(&vm->lock);
	INIT_LIST_HEAD(&vm->slots);
	INIT_LIST_HEAD(&vm->lru);
	xa_init(&vm->gfn_states);
	xa_init(&vm->spages);
	xa_init(&vm->dma_refs);
	vm->state = CVM_VM_NORMAL;
	vm->untouched_state = CVM_GFN_NORMAL;
	vm->pin_limit_pages = arg->pin_limit_bytes >> PAGE_SHIFT;
	/* VFIO's model: the right to bypass the limit is fixed at creation. */
	vm->lock_cap = capable(CAP_IPC_LOCK);
	mmgrab(current->mm);
	vm->mm = current->mm;
	get_task_struct(current->group_leader);
	vm->task = current->group_leader;
	cvm_vm_list_add(vm);

	fd = anon_inode_getfd("cvm-vm", &cvm_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		cvm_vm_free(vm);
	return fd;
}

static int cvm_vm_release(struct inode *inode, struct file *file)
{
	cvm_vm_free(file->private_data);
	return 0;
}

/*
 * Apply a lifecycle operation: look the cell up, then move the GFNs the
 * way the GFN table's column for that operation says.
 */
static int cvm_vm_lifecycle(struct cvm_vm *vm, enum cvm_vm_op op)
{
	enum cvm_vm_state to;
	int ret;

	cvm_vm_lock(vm);
	ret = cvm_vm_transition(vm->state, op, &to);
	if (ret)
		goto out;
	switch (op) {
	case CVM_VM_OP_INIT_START:
		ret = cvm_measure_start(vm->measure);
		break;
	case CVM_VM_OP_INIT_DONE:
		/* Half way through, the VM stays transient: never half-secure. */
		ret = cvm_convert_init_done(vm);
		break;
	case CVM_VM_OP_INIT_ABORT:
	case CVM_VM_OP_TERMINATE:
		cvm_secure_discard_all(vm);
		cvm_gfn_drop_all(vm);
		cvm_measure_reset(vm->measure);
		break;
	case CVM_VM_OP_START_VM:
		break;
	}
	if (!ret)
		vm->state = to;
out:
	mutex_unlock(&vm->lock);
	return ret;
}

static long cvm_vm_set_memslot(struct cvm_vm *vm, void __user *uarg)
{
	struct cvm_user_memslot arg;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~CVM_MEMSLOT_FLAGS ||
	    !cvm_all_zero(arg.reserved, ARRAY_SIZE(arg.reserved)))
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
	struct cvm_measurement m = {};
	struct cvm_vm_stats st = {};

	cvm_vm_lock(vm);
	st.state = vm->state;
	st.nr_pages = vm->nr_pages;
	st.normal_pages = cvm_gfn_count(vm, CVM_GFN_NORMAL);
	st.shared_pages = cvm_gfn_count(vm, CVM_GFN_SHARED);
	st.secure_paged_out = cvm_gfn_count(vm, CVM_GFN_SECURE_PAGED_OUT);
	st.secure_pages = cvm_gfn_count(vm, CVM_GFN_SECURE) +
			  st.secure_paged_out;
	st.pinned_pages = vm->nr_pinned;
	st.charged_bytes = vm->nr_pinned << PAGE_SHIFT;
	st.pin_limit_bytes = vm->pin_limit_pages << PAGE_SHIFT;
	st.memlock_limit_bytes = cvm_pin_memlock_limit(vm);
	st.nr_memslots = vm->nr_slots;
	st.pool_pages = vm->nr_resident;
	st.evictions = vm->nr_evictions;
	st.dma_shared_pages = vm->nr_dma_shared;
	cvm_measure_read(vm->measure, &m);
	st.measured_pages = m.nr_pages;
	mutex_unlock(&vm->lock);
	if (copy_to_user(uarg, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

static long cvm_vm_get_measurement(struct cvm_vm *vm, void __user *uarg)
{
	struct cvm_measurement m = {};

	mutex_lock(&vm->lock);
	cvm_measure_read(vm->measure, &m);
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
	if ((!ret || ret == -ENOSPC) &&
	    copy_to_user(uarg, &arg, sizeof(arg)))
		return -EFAULT;
	return ret;
}

/*
 * Page operations: PAGE_IN / PAGE_OUT take one page, the others a range.
 * Argument errors come first (-EINVAL), then "not started" (-EOPNOTSUPP;
 * DMA shares are allowed in any VM state), then the GPA range (-ERANGE),
 * then the tables.
 */
static long cvm_vm_page_op(struct cvm_vm *vm, unsigned int cmd,
			   void __user *uarg)
{
	struct cvm_page_op arg;
	enum cvm_gfn_op op;
	u64 npages;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!cvm_all_zero(arg.reserved, ARRAY_SIZE(arg.reserved)) ||
	    !PAGE_ALIGNED(arg.gpa) ||
	    (arg.page_shift && arg.page_shift != PAGE_SHIFT))
		return -EINVAL;
	npages = arg.nr_pages ? arg.nr_pages : 1;
	switch (cmd) {
	case CVM_PAGE_IN:
		if (arg.flags & ~CVM_PAGE_FLAGS || npages != 1)
			return -EINVAL;
		op = arg.flags & CVM_PAGE_SHARED ? CVM_GFN_OP_SHARE :
						   CVM_GFN_OP_PAGE_IN;
		break;
	case CVM_PAGE_OUT:
		if (arg.flags || npages != 1)
			return -EINVAL;
		op = CVM_GFN_OP_PAGE_OUT;
		break;
	case CVM_SHARE:
	case CVM_UNSHARE:
	case CVM_DMA_SHARE:
	case CVM_DMA_UNSHARE:
		if (arg.flags)
			return -EINVAL;
		op = cmd == CVM_SHARE ? CVM_GFN_OP_SHARE : CVM_GFN_OP_UNSHARE;
		break;
	default:
		return -ENOTTY;
	}

	cvm_vm_lock(vm);
	if (cmd != CVM_DMA_SHARE && cmd != CVM_DMA_UNSHARE)
		ret = cvm_vm_page_op_check(vm->state);
	else
		ret = 0;
	if (!ret)
		ret = cvm_memslot_check_range(vm, arg.gpa >> PAGE_SHIFT, npages);
	if (ret)
		goto out;
	if (cmd == CVM_DMA_SHARE)
		ret = cvm_dma_share(vm, arg.gpa >> PAGE_SHIFT, npages);
	else if (cmd == CVM_DMA_UNSHARE)
		ret = cvm_dma_unshare(vm, arg.gpa >> PAGE_SHIFT, npages);
	else
		ret = cvm_convert_range(vm, arg.gpa >> PAGE_SHIFT, npages, op);
out:
	mutex_unlock(&vm->lock);
	return ret;
}

static long cvm_vm_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct cvm_vm *vm = file->private_data;
	void __user *uarg = (void __user *)arg;

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
