// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_crypt.c - sealing secure pages into host pages with AES-256-GCM.
 *
 * Each VM has its own random key. Each seal takes a fresh 64-bit counter
 * as its version: the nonce is the version (unique per key, so never
 * reused), and the associated data binds the GFN and the version, so a
 * ciphertext moved to another GFN, or an older ciphertext of the same GFN,
 * fails authentication. The tag stays in the module, never in the host
 * page.
 */
#include <crypto/aead.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <asm/unaligned.h>

#include "cvm_internal.h"

#define CVM_KEY_SIZE 32
#define CVM_IV_SIZE 12
#define CVM_AAD_SIZE 16

/* Buffers handed to the crypto API must not live on the stack. */
struct cvm_crypt_buf {
	__le64 aad[2];
	__le64 aad_dst[2];	/* the API copies the AAD to dst: scratch */
	u8 iv[CVM_IV_SIZE];
	u8 tag[CVM_TAG_SIZE];
};

struct cvm_crypt {
	struct crypto_aead *tfm;
	struct aead_request *req;
	struct cvm_crypt_buf *buf;
	u64 next_version;
};

/* Is gcm(aes) available? Loads its module on demand. */
int cvm_crypt_check(void)
{
	struct crypto_aead *tfm = crypto_alloc_aead("gcm(aes)", 0, 0);

	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	crypto_free_aead(tfm);
	return 0;
}

struct cvm_crypt *cvm_crypt_new(void)
{
	u8 key[CVM_KEY_SIZE];
	struct cvm_crypt *c;
	int ret = -ENOMEM;

	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return ERR_PTR(-ENOMEM);
	c->buf = kzalloc(sizeof(*c->buf), GFP_KERNEL_ACCOUNT);
	if (!c->buf)
		goto err_free;
	c->tfm = crypto_alloc_aead("gcm(aes)", 0, 0);
	if (IS_ERR(c->tfm)) {
		ret = PTR_ERR(c->tfm);
		c->tfm = NULL;
		goto err_free;
	}
	get_random_bytes(key, sizeof(key));
	ret = crypto_aead_setkey(c->tfm, key, sizeof(key));
	memzero_explicit(key, sizeof(key));
	if (!ret)
		ret = crypto_aead_setauthsize(c->tfm, CVM_TAG_SIZE);
	if (ret)
		goto err_free;
	c->req = aead_request_alloc(c->tfm, GFP_KERNEL_ACCOUNT);
	if (!c->req) {
		ret = -ENOMEM;
		goto err_free;
	}
	c->next_version = 1;
	return c;

err_free:
	cvm_crypt_free(c);
	return ERR_PTR(ret);
}

void cvm_crypt_free(struct cvm_crypt *c)
{
	if (!c)
		return;
	aead_request_free(c->req);
	if (c->tfm)
		crypto_free_aead(c->tfm);
	kfree_sensitive(c->buf);
	kfree(c);
}

static void cvm_crypt_prepare(struct cvm_crypt *c, u64 gfn, u64 version)
{
	c->buf->aad[0] = cpu_to_le64(gfn);
	c->buf->aad[1] = cpu_to_le64(version);
	memset(c->buf->iv, 0, sizeof(c->buf->iv));
	put_unaligned_le64(version, c->buf->iv);
}

/* [aad][page] or [aad][page][tag] */
static void cvm_crypt_sg(struct cvm_crypt *c, struct scatterlist *sg,
			 struct page *page, bool dst, bool with_tag)
{
	sg_init_table(sg, with_tag ? 3 : 2);
	sg_set_buf(&sg[0], dst ? c->buf->aad_dst : c->buf->aad, CVM_AAD_SIZE);
	sg_set_page(&sg[1], page, PAGE_SIZE, 0);
	if (with_tag)
		sg_set_buf(&sg[2], c->buf->tag, CVM_TAG_SIZE);
}

static int cvm_crypt_run(struct cvm_crypt *c, struct scatterlist *src,
			 struct scatterlist *dst, unsigned int cryptlen,
			 bool encrypt)
{
	DECLARE_CRYPTO_WAIT(wait);
	int ret;

	aead_request_set_callback(c->req, CRYPTO_TFM_REQ_MAY_SLEEP,
				  crypto_req_done, &wait);
	aead_request_set_ad(c->req, CVM_AAD_SIZE);
	aead_request_set_crypt(c->req, src, dst, cryptlen, c->buf->iv);
	ret = encrypt ? crypto_aead_encrypt(c->req) :
			crypto_aead_decrypt(c->req);
	return crypto_wait_req(ret, &wait);
}

/**
 * cvm_crypt_seal() - encrypt one page
 * @c: the VM's crypto state
 * @gfn: the GFN the contents belong to
 * @from: plaintext (a pool page)
 * @to: where the ciphertext goes (the host page); may equal @from
 * @ret_version: the version this seal used
 * @ret_tag: the tag, CVM_TAG_SIZE bytes
 */
int cvm_crypt_seal(struct cvm_crypt *c, u64 gfn, struct page *from,
		   struct page *to, u64 *ret_version, u8 *ret_tag)
{
	struct scatterlist src[2], dst[3];
	u64 version = c->next_version++;
	int ret;

	cvm_crypt_prepare(c, gfn, version);
	/* In place: one list, as the crypto API wants for src == dst. */
	cvm_crypt_sg(c, dst, to, from != to, true);
	if (from != to)
		cvm_crypt_sg(c, src, from, false, false);
	ret = cvm_crypt_run(c, from != to ? src : dst, dst, PAGE_SIZE, true);
	if (ret)
		return ret;
	*ret_version = version;
	memcpy(ret_tag, c->buf->tag, CVM_TAG_SIZE);
	return 0;
}

/**
 * cvm_crypt_open() - verify and decrypt one page
 * @c: the VM's crypto state
 * @gfn: the GFN the contents must belong to
 * @version: the version they must carry
 * @tag: their tag
 * @from: the ciphertext (the host page)
 * @to: where the plaintext goes; may equal @from
 *
 * Return: 0, or -EBADMSG when the ciphertext is not the one sealed for
 * this GFN and version (@to then holds garbage: the caller discards it).
 */
int cvm_crypt_open(struct cvm_crypt *c, u64 gfn, u64 version,
		   const u8 *tag, struct page *from, struct page *to)
{
	struct scatterlist src[3], dst[2];

	cvm_crypt_prepare(c, gfn, version);
	memcpy(c->buf->tag, tag, CVM_TAG_SIZE);
	cvm_crypt_sg(c, src, from, false, true);
	if (from == to)
		return cvm_crypt_run(c, src, src, PAGE_SIZE + CVM_TAG_SIZE,
				     false);
	cvm_crypt_sg(c, dst, to, true, false);
	return cvm_crypt_run(c, src, dst, PAGE_SIZE + CVM_TAG_SIZE, false);
}
