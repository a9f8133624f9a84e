// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_os_linux.c - cvm_os.h in the kernel: memory charged to the caller's
 * memcg, pages through kmap_local, SHA-256 and AES-256-GCM through the
 * crypto API (gcm(aes) and sha256, their modules loaded on demand).
 */
#include <crypto/aead.h>
#include <crypto/hash.h>
#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "cvm_internal.h"

void *cvm_os_zalloc(size_t bytes)
{
	return kzalloc(bytes, GFP_KERNEL_ACCOUNT);
}

void cvm_os_free(void *p)
{
	kfree(p);
}

void *cvm_os_vzalloc(size_t bytes)
{
	return bytes ? kvzalloc(bytes, GFP_KERNEL) : NULL;
}

void cvm_os_vfree(void *p)
{
	kvfree(p);
}

/*
 * A bitmap sized by a caller's range: the size in 64 bits, charged to the
 * caller's memcg, vmalloc'ed when large and failing without a warning (a
 * range is user input). for_each_set_bit() and friends take its length as
 * an unsigned long, so every bit of CVM_OS_BITMAP_MAX_BITS is reachable.
 */
unsigned long *cvm_os_bitmap_zalloc(u64 nbits)
{
	if (nbits > CVM_OS_BITMAP_MAX_BITS)
		return NULL;
	return kvzalloc(max_t(u64, BITS_TO_LONGS(nbits), 1) * sizeof(long),
			GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
}

void cvm_os_bitmap_free(unsigned long *bits)
{
	kvfree(bits);
}

void cvm_os_page_copy(struct cvm_page *to, struct cvm_page *from)
{
	copy_highpage(cvm_os_kpage(to), cvm_os_kpage(from));
}

void cvm_os_page_clear(struct cvm_page *page)
{
	clear_highpage(cvm_os_kpage(page));
}

void cvm_os_page_read(void *buf, struct cvm_page *page, size_t off, size_t len)
{
	memcpy_from_page(buf, cvm_os_kpage(page), off, len);
}

void cvm_os_page_write(struct cvm_page *page, size_t off, const void *buf,
		       size_t len)
{
	memcpy_to_page(cvm_os_kpage(page), off, buf, len);
}

/* SHA-256: a shash descriptor and its exported state. */
struct cvm_os_hash {
	struct crypto_shash *tfm;
	struct shash_desc *desc;
	void *saved;
};

int cvm_os_hash_new(struct cvm_os_hash **ret)
{
	struct cvm_os_hash *h;
	int err = -ENOMEM;

	h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (!h)
		return -ENOMEM;
	h->tfm = crypto_alloc_shash("sha256", 0, 0);
	if (IS_ERR(h->tfm)) {
		err = PTR_ERR(h->tfm);
		h->tfm = NULL;
		goto err_free;
	}
	h->desc = kzalloc(sizeof(*h->desc) + crypto_shash_descsize(h->tfm),
			  GFP_KERNEL_ACCOUNT);
	h->saved = kzalloc(crypto_shash_statesize(h->tfm), GFP_KERNEL_ACCOUNT);
	if (!h->desc || !h->saved)
		goto err_free;
	h->desc->tfm = h->tfm;
	*ret = h;
	return 0;

err_free:
	cvm_os_hash_free(h);
	return err;
}

void cvm_os_hash_free(struct cvm_os_hash *h)
{
	if (!h)
		return;
	kfree(h->saved);
	kfree(h->desc);
	if (h->tfm)
		crypto_free_shash(h->tfm);
	kfree(h);
}

int cvm_os_hash_init(struct cvm_os_hash *h)
{
	return crypto_shash_init(h->desc);
}

int cvm_os_hash_update(struct cvm_os_hash *h, const void *data, size_t len)
{
	return crypto_shash_update(h->desc, data, len);
}

int cvm_os_hash_update_page(struct cvm_os_hash *h, struct cvm_page *page)
{
	void *va = kmap_local_page(cvm_os_kpage(page));
	int ret = crypto_shash_update(h->desc, va, PAGE_SIZE);

	kunmap_local(va);
	return ret;
}

int cvm_os_hash_final(struct cvm_os_hash *h, u8 *digest)
{
	return crypto_shash_final(h->desc, digest);
}

int cvm_os_hash_save(struct cvm_os_hash *h)
{
	return crypto_shash_export(h->desc, h->saved);
}

int cvm_os_hash_restore(struct cvm_os_hash *h)
{
	return crypto_shash_import(h->desc, h->saved);
}

/*
 * A synchronous gcm(aes): the request completes inside the call, on the
 * caller's buffers, and no other context ever sees the bounce page.
 */
static struct crypto_aead *cvm_os_aead_alloc(void)
{
	return crypto_alloc_aead("gcm(aes)", 0, CRYPTO_ALG_ASYNC);
}

/* Is a synchronous gcm(aes) available? Loads its module on demand. */
int cvm_os_aead_check(void)
{
	struct crypto_aead *tfm = cvm_os_aead_alloc();

	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	crypto_free_aead(tfm);
	return 0;
}

/* Buffers handed to the crypto API must not live on the stack. */
struct cvm_os_aead_buf {
	u8 aad[CVM_OS_AEAD_AAD_SIZE];
	u8 iv[CVM_OS_AEAD_IV_SIZE];
	u8 tag[CVM_OS_AEAD_TAG_SIZE];
};

/*
 * @bounce: a private page the cipher works in. The host page is writable
 * by the VM's owner (another thread, a MAP_SHARED peer) while it is being
 * sealed or opened; a cipher that reads it twice (the hash pass, then the
 * CTR pass) could authenticate bytes other than those it decrypts, or tag
 * a ciphertext other than the one it wrote. So the ciphertext is copied
 * in once before opening and out once after sealing, and the tag vouches
 * for exactly the bytes processed. The bounce holds plaintext after an
 * open: it is cleared before the call returns.
 */
struct cvm_os_aead {
	struct crypto_aead *tfm;
	struct aead_request *req;
	struct cvm_os_aead_buf *buf;
	struct page *bounce;
};

int cvm_os_aead_new(struct cvm_os_aead **ret)
{
	u8 key[CVM_OS_AEAD_KEY_SIZE];
	struct cvm_os_aead *a;
	int err = -ENOMEM;

	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return -ENOMEM;
	a->buf = kzalloc(sizeof(*a->buf), GFP_KERNEL_ACCOUNT);
	a->bounce = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!a->buf || !a->bounce)
		goto err_free;
	a->tfm = cvm_os_aead_alloc();
	if (IS_ERR(a->tfm)) {
		err = PTR_ERR(a->tfm);
		a->tfm = NULL;
		goto err_free;
	}
	get_random_bytes(key, sizeof(key));
	err = crypto_aead_setkey(a->tfm, key, sizeof(key));
	memzero_explicit(key, sizeof(key));
	if (!err)
		err = crypto_aead_setauthsize(a->tfm, CVM_OS_AEAD_TAG_SIZE);
	if (err)
		goto err_free;
	a->req = aead_request_alloc(a->tfm, GFP_KERNEL_ACCOUNT);
	if (!a->req) {
		err = -ENOMEM;
		goto err_free;
	}
	*ret = a;
	return 0;

err_free:
	cvm_os_aead_free(a);
	return err;
}

/* Wipe the bounce page: it may have held plaintext. */
static void cvm_os_aead_wipe(struct cvm_os_aead *a)
{
	void *va = kmap_local_page(a->bounce);

	memzero_explicit(va, PAGE_SIZE);
	kunmap_local(va);
}

void cvm_os_aead_free(struct cvm_os_aead *a)
{
	if (!a)
		return;
	aead_request_free(a->req);
	if (a->tfm)
		crypto_free_aead(a->tfm);
	if (a->bounce) {
		cvm_os_aead_wipe(a);
		__free_page(a->bounce);
	}
	kfree_sensitive(a->buf);
	kfree(a);
}

/*
 * One request over the bounce page, in place: [aad][bounce][tag], the tag
 * written on encryption, read on decryption.
 */
static int cvm_os_aead_run(struct cvm_os_aead *a, const u8 *iv, const u8 *aad,
			   bool encrypt)
{
	struct scatterlist sg[3];
	int ret;

	memcpy(a->buf->iv, iv, CVM_OS_AEAD_IV_SIZE);
	memcpy(a->buf->aad, aad, CVM_OS_AEAD_AAD_SIZE);
	sg_init_table(sg, 3);
	sg_set_buf(&sg[0], a->buf->aad, CVM_OS_AEAD_AAD_SIZE);
	sg_set_page(&sg[1], a->bounce, PAGE_SIZE, 0);
	sg_set_buf(&sg[2], a->buf->tag, CVM_OS_AEAD_TAG_SIZE);
	/* Synchronous (CRYPTO_ALG_ASYNC masked): no callback, no wait. */
	aead_request_set_callback(a->req, CRYPTO_TFM_REQ_MAY_SLEEP, NULL, NULL);
	aead_request_set_ad(a->req, CVM_OS_AEAD_AAD_SIZE);
	aead_request_set_crypt(a->req, sg, sg,
			       PAGE_SIZE + (encrypt ? 0 : CVM_OS_AEAD_TAG_SIZE),
			       a->buf->iv);
	ret =
	    encrypt ? crypto_aead_encrypt(a->req) : crypto_aead_decrypt(a->req);
	if (WARN_ON_ONCE(ret == -EINPROGRESS || ret == -EBUSY))
		ret = -EIO;
	return ret;
}

int cvm_os_aead_seal(struct cvm_os_aead *a, const u8 *iv, const u8 *aad,
		     struct cvm_page *from, struct cvm_page *to, u8 *ret_tag)
{
	int ret;

	/* The plaintext into the bounce, sealed there, copied out once. */
	copy_highpage(a->bounce, cvm_os_kpage(from));
	ret = cvm_os_aead_run(a, iv, aad, true);
	if (!ret) {
		copy_highpage(cvm_os_kpage(to), a->bounce);
		memcpy(ret_tag, a->buf->tag, CVM_OS_AEAD_TAG_SIZE);
	}
	cvm_os_aead_wipe(a);
	return ret;
}

int cvm_os_aead_open(struct cvm_os_aead *a, const u8 *iv, const u8 *aad,
		     const u8 *tag, struct cvm_page *from, struct cvm_page *to)
{
	int ret;

	/* The ciphertext read once: what is verified is what is decrypted. */
	copy_highpage(a->bounce, cvm_os_kpage(from));
	memcpy(a->buf->tag, tag, CVM_OS_AEAD_TAG_SIZE);
	ret = cvm_os_aead_run(a, iv, aad, false);
	if (!ret)
		copy_highpage(cvm_os_kpage(to), a->bounce);
	cvm_os_aead_wipe(a);
	return ret;
}
