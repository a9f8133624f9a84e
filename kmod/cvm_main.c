// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_main.c - module entry, the /dev/cvm misc device and its ioctls.
 */
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "cvm_internal.h"

static atomic_t cvm_nr_vms = ATOMIC_INIT(0);
static atomic64_t cvm_nr_pinned = ATOMIC64_INIT(0);

void cvm_stat_vms(int delta)
{
	atomic_add(delta, &cvm_nr_vms);
}

void cvm_stat_pinned(long delta)
{
	atomic64_add(delta, &cvm_nr_pinned);
}

static long cvm_check_extension(unsigned long cap)
{
	switch (cap) {
	case CVM_CAP_DEMAND_PIN:
	case CVM_CAP_UPFRONT_PIN:
	case CVM_CAP_VM_PIN_LIMIT:
	case CVM_CAP_PAGE_STATE:
		return 1;
	}
	return 0;
}

static long cvm_dev_create_vm(void __user *uarg)
{
	struct cvm_create_vm arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.pad ||
	    !cvm_all_zero(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	return cvm_vm_create(&arg);
}

static long cvm_dev_get_info(void __user *uarg)
{
	struct cvm_info info = {
		.api_version = CVM_API_VERSION,
		.nr_vms = atomic_read(&cvm_nr_vms),
		.pinned_pages = atomic64_read(&cvm_nr_pinned),
	};

	/* Every pinned page is charged exactly once, to its VM's owner. */
	info.charged_bytes = info.pinned_pages << PAGE_SHIFT;
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long cvm_dev_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	switch (cmd) {
	case CVM_GET_API_VERSION:
		return arg ? -EINVAL : CVM_API_VERSION;
	case CVM_CHECK_EXTENSION:
		return cvm_check_extension(arg);
	case CVM_CREATE_VM:
		return cvm_dev_create_vm((void __user *)arg);
	case CVM_GET_INFO:
		return cvm_dev_get_info((void __user *)arg);
	}
	return -ENOTTY;
}

static const struct file_operations cvm_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = cvm_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice cvm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = CVM_DEVICE_NAME,
	.fops = &cvm_dev_fops,
	.mode = 0600,
};

static int __init cvm_init(void)
{
	return misc_register(&cvm_misc);
}

static void __exit cvm_exit(void)
{
	misc_deregister(&cvm_misc);
	/* Every VM fd holds a module reference: none can be left here. */
	WARN_ON_ONCE(atomic_read(&cvm_nr_vms));
	WARN_ON_ONCE(atomic64_read(&cvm_nr_pinned));
}

module_init(cvm_init);
module_exit(cvm_exit);

MODULE_DESCRIPTION("Software-protected confidential VM memory");
MODULE_LICENSE("GPL");
