// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_crypt.c - the format that seals secure pages into host pages with
 * AES-256-GCM (the cipher itself is the OS's: cvm_os_aead_*):
 *
 * - key: 32 random bytes per VM;
 * - nonce: 12 bytes, the seal's version as a little-endian u64 then four
 *   zero bytes; versions count from 1, one per seal, so a nonce is never
 *   reused under a key;
 * - associated data: 16 bytes, the GFN then the version, both
 *   little-endian u64, so a ciphertext moved to another GFN, or an older
 *   ciphertext of the same GFN, fails authentication;
 * - the 16-byte tag stays with the VM, never in the host page.
 */
#include "cvm_core.h"

struct cvm_crypt {
	struct cvm_os_aead *aead;
	u64 next_version;
};

/**
 * cvm_crypt_new_with() - a VM's sealing state over a keyed cipher
 * @aead: the cipher, owned by the result from now on (freed on error)
 * @ret: the new state
 */
int cvm_crypt_new_with(struct cvm_os_aead *aead, struct cvm_crypt **ret)
{
	struct cvm_crypt *c = cvm_os_zalloc(sizeof(*c));

	if (!c) {
		cvm_os_aead_free(aead);
		return -ENOMEM;
	}
	c->aead = aead;
	c->next_version = 1;
	*ret = c;
	return 0;
}

/* A VM's sealing state, with a fresh random key. */
int cvm_crypt_new(struct cvm_crypt **ret)
{
	struct cvm_os_aead *aead;
	int err = cvm_os_aead_new(&aead);

	return err ? err : cvm_crypt_new_with(aead, ret);
}

void cvm_crypt_free(struct cvm_crypt *c)
{
	if (!c)
		return;
	cvm_os_aead_free(c->aead);
	cvm_os_free(c);
}

static void cvm_put_le64(u8 *p, u64 v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (u8)(v >> (8 * i));
}

static void cvm_crypt_prepare(u64 gfn, u64 version, u8 *iv, u8 *aad)
{
	memset(iv, 0, CVM_OS_AEAD_IV_SIZE);
	cvm_put_le64(iv, version);
	cvm_put_le64(aad, gfn);
	cvm_put_le64(aad + 8, version);
}

/**
 * cvm_crypt_seal() - encrypt one page
 * @c: the VM's sealing state
 * @gfn: the GFN the contents belong to
 * @from: plaintext (a pool page)
 * @to: where the ciphertext goes (the host page); may equal @from
 * @ret_version: the version this seal used
 * @ret_tag: the tag, CVM_TAG_SIZE bytes
 *
 * Return: 0 or -errno from the cipher.
 */
int cvm_crypt_seal(struct cvm_crypt *c, u64 gfn, struct cvm_page *from,
		   struct cvm_page *to, u64 *ret_version, u8 *ret_tag)
{
	u8 iv[CVM_OS_AEAD_IV_SIZE], aad[CVM_OS_AEAD_AAD_SIZE];
	u64 version = c->next_version++;
	int ret;

	cvm_crypt_prepare(gfn, version, iv, aad);
	ret = cvm_os_aead_seal(c->aead, iv, aad, from, to, ret_tag);
	if (ret)
		return ret;
	*ret_version = version;
	return 0;
}

/**
 * cvm_crypt_open() - verify and decrypt one page
 * @c: the VM's sealing state
 * @gfn: the GFN the contents must belong to
 * @version: the version they must carry
 * @tag: their tag
 * @from: the ciphertext (the host page)
 * @to: where the plaintext goes; may equal @from
 *
 * Return: 0, or -EBADMSG when the ciphertext is not the one sealed for
 * this GFN and version (@to then holds garbage: the caller discards it).
 */
int cvm_crypt_open(struct cvm_crypt *c, u64 gfn, u64 version, const u8 *tag,
		   struct cvm_page *from, struct cvm_page *to)
{
	u8 iv[CVM_OS_AEAD_IV_SIZE], aad[CVM_OS_AEAD_AAD_SIZE];

	cvm_crypt_prepare(gfn, version, iv, aad);
	return cvm_os_aead_open(c->aead, iv, aad, tag, from, to);
}
