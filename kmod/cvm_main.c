// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_main.c - module entry, the /dev/cvm misc device and its ioctls, and
 * the secure pool every VM shares: pages allocated at load and never
 * mapped anywhere, so no host mapping can reach a secure page's contents
 * (the core's cvm_pool.c does the accounting).
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "cvm_internal.h"

static unsigned int pool_mb = 64;
module_param(pool_mb, uint, 0444);
MODULE_PARM_DESC(pool_mb, "Size of the secure pool in MiB (default 64)");

/*
 * Test-only delay points, 0 (off) by default: they widen race windows so
 * the tests that need a race hit it every time.
 */
static unsigned int test_delay_ms_evict;
module_param(test_delay_ms_evict, uint, 0644);
MODULE_PARM_DESC(
    test_delay_ms_evict,
    "Test only: sleep this long holding an eviction victim's lock (default 0)");

static unsigned int test_delay_ms_evict_put;
module_param(test_delay_ms_evict_put, uint, 0644);
MODULE_PARM_DESC(test_delay_ms_evict_put,
		 "Test only: sleep this long after unlocking an eviction victim, "
		 "then read it, before dropping the reference (default 0)");

unsigned int cvm_test_delay_ms_pin;
module_param_named(test_delay_ms_pin, cvm_test_delay_ms_pin, uint, 0644);
MODULE_PARM_DESC(test_delay_ms_pin,
		 "Test only: sleep this long between pinning a page and "
		 "recording it (default 0)");

void cvm_test_delay(const unsigned int *ms_param)
{
	unsigned int ms = READ_ONCE(*ms_param);

	if (unlikely(ms))
		msleep(ms);
}

/*
 * Test only: the window between an evictor's mutex_unlock() of its victim
 * and its put. It sleeps with the victim unlocked, so the victim's close
 * runs to its end meanwhile, then reads the victim, as code there may: only
 * the evictor's reference keeps it alive. Without it, KASAN reports a
 * use-after-free every time instead of only when a free lands inside
 * mutex_unlock().
 */
static void cvm_test_evict_unlocked(struct cvm_vm *victim)
{
	unsigned int ms = READ_ONCE(test_delay_ms_evict_put);

	if (likely(!ms))
		return;
	msleep(ms);
	if (READ_ONCE(victim->dead))
		pr_debug("cvm: eviction victim died while unlocked\n");
}

static struct cvm_pool cvm_pool;

static atomic64_t cvm_nr_pinned = ATOMIC64_INIT(0);
static atomic64_t cvm_nr_evictions = ATOMIC64_INIT(0);

/* Every live VM, for eviction across VMs when the pool runs dry. */
static DEFINE_SPINLOCK(cvm_vms_lock);
static LIST_HEAD(cvm_vms);
static unsigned int cvm_nr_vms;

void cvm_vm_list_add(struct cvm_vm *vm)
{
	spin_lock(&cvm_vms_lock);
	list_add_tail(&vm->node, &cvm_vms);
	cvm_nr_vms++;
	spin_unlock(&cvm_vms_lock);
}

void cvm_vm_list_del(struct cvm_vm *vm)
{
	spin_lock(&cvm_vms_lock);
	list_del(&vm->node);
	cvm_nr_vms--;
	spin_unlock(&cvm_vms_lock);
}

/**
 * cvm_os_pool_evict() - page out a cold resident page to free a pool page
 * @core: the VM asking, locked (the core's hook)
 *
 * The victim is the VM with the most resident pages (the largest user of
 * the pool gives first, so a small VM can't be starved by a large one),
 * falling back to any VM that has some. Other VMs' locks are only
 * trylock'ed, so two VMs evicting from each other can't deadlock. The
 * victim is referenced under the VM list lock and put only after its
 * mutex_unlock() returned: its fd may be closed meanwhile, and the VM is
 * freed by the last reference, never under an unlocker's feet.
 *
 * Return: 0 when a pool page was freed, -ENOMEM when no VM had one to give.
 */
int cvm_os_pool_evict(struct cvm_core *core)
{
	struct cvm_vm *self = cvm_vm_of(core);
	struct cvm_vm *vm, *victim = NULL;
	u64 most = self->core.nr_resident;
	int ret;

	spin_lock(&cvm_vms_lock);
	list_for_each_entry(vm, &cvm_vms, node) {
		if (vm == self || READ_ONCE(vm->core.nr_resident) <= most)
			continue;
		if (!mutex_trylock(&vm->lock))
			continue;
		if (victim) {
			/* Still on the list: not its last reference. */
			mutex_unlock(&victim->lock);
			cvm_vm_put(victim);
		}
		cvm_vm_get(vm);
		victim = vm;
		most = vm->core.nr_resident;
	}
	spin_unlock(&cvm_vms_lock);

	if (victim) {
		ret = victim->dead ? -ENOMEM
				   : cvm_secure_evict_one(&victim->core);
		cvm_test_delay(&test_delay_ms_evict);
		mutex_unlock(&victim->lock);
		cvm_test_evict_unlocked(victim);
		cvm_vm_put(victim);
		if (!ret)
			return 0;
	}
	return cvm_secure_evict_one(&self->core) ? -ENOMEM : 0;
}

/* The core's pool hooks (cvm_core.h): one pool for every VM. */
struct cvm_page *cvm_os_pool_alloc(struct cvm_core *core)
{
	return cvm_pool_get(&cvm_pool);
}

void cvm_os_pool_free(struct cvm_core *core, struct cvm_page *page)
{
	cvm_pool_put(&cvm_pool, page);
}

void cvm_os_evicted(struct cvm_core *core)
{
	atomic64_inc(&cvm_nr_evictions);
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
	case CVM_CAP_SECURE_MEMORY:
	case CVM_CAP_DMA_SHARE:
	case CVM_CAP_SNAPSHOT:
	case CVM_CAP_MEASUREMENT:
	case CVM_CAP_FAULT_AROUND:
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
		.nr_vms = READ_ONCE(cvm_nr_vms),
		.pinned_pages = atomic64_read(&cvm_nr_pinned),
		.evictions = atomic64_read(&cvm_nr_evictions),
	};

	cvm_pool_counts(&cvm_pool, &info.pool_total_pages,
			&info.pool_free_pages);
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

static void cvm_pool_pages_free(void)
{
	struct cvm_page *page;

	/* Every VM is gone (each held a module reference): all are free. */
	WARN_ON_ONCE(cvm_pool.nr_free != cvm_pool.total);
	while ((page = cvm_pool_remove(&cvm_pool))) {
		__free_page(cvm_os_kpage(page));
		cond_resched();
	}
	cvm_pool_fini(&cvm_pool);
}

/*
 * The pool's size is a module parameter, up to all of memory: allocating
 * it yields the CPU as it goes and stops when insmod is killed.
 * Return: 0, or -ENOMEM / -EINTR with nothing allocated.
 */
static int cvm_pool_pages_alloc(unsigned long nr_pages)
{
	struct page *page;
	unsigned long i;
	int ret;

	ret = cvm_pool_init(&cvm_pool, nr_pages);
	if (ret)
		return ret;
	for (i = 0; i < nr_pages; i++) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_free_pages;
		}
		page = alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
		if (!page) {
			ret = -ENOMEM;
			goto err_free_pages;
		}
		cvm_pool_add(&cvm_pool, cvm_os_cpage(page));
		cond_resched();
	}
	return 0;

err_free_pages:
	cvm_pool_pages_free();
	return ret;
}

static int __init cvm_init(void)
{
	int ret;

	ret = cvm_os_aead_check();
	if (ret) {
		pr_err("cvm: gcm(aes) unavailable (%d): load the gcm module\n",
		       ret);
		return ret;
	}
	ret = cvm_pool_pages_alloc((unsigned long)pool_mb << (20 - PAGE_SHIFT));
	if (ret) {
		pr_err("cvm: can't allocate a %u MiB secure pool (%d)\n",
		       pool_mb, ret);
		return ret;
	}
	ret = misc_register(&cvm_misc);
	if (ret)
		cvm_pool_pages_free();
	return ret;
}

static void __exit cvm_exit(void)
{
	misc_deregister(&cvm_misc);
	/* Every VM fd holds a module reference: none can be left here. */
	WARN_ON_ONCE(cvm_nr_vms);
	WARN_ON_ONCE(atomic64_read(&cvm_nr_pinned));
	cvm_pool_pages_free();
}

module_init(cvm_init);
module_exit(cvm_exit);

MODULE_DESCRIPTION("Software-protected confidential VM memory");
MODULE_LICENSE("GPL");
/*
 * The synchronous gcm(aes) is built by gcm from ctr(aes) and a synchronous
 * ghash (ghash_generic; the accelerated ghash is async only): modprobe loads
 * them first where they are modules, as in Debian's kernel.
 */
MODULE_SOFTDEP("pre: gcm ctr ghash_generic");
