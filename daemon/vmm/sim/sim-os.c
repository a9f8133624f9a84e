// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-os.c - the module's OS interface (kmod/cvm_os.h, cvm_os_user.h) in
 * one process:
 *
 * - the per-GFN map: lazily zeroed arrays (anonymous MAP_NORESERVE
 *   mappings, whose untouched pages cost nothing, as the VMM's own guest
 *   memory) and two-level bitmaps whose set bits are walked in GFN order
 *   at a cost that follows how many are set, in the part of the xarray;
 * - memory from malloc, pages as plain addresses;
 * - SHA-256 and AES-256-GCM from OpenSSL's EVP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cvm_os.h"

unsigned long cvm_os_nr_warnings;

void cvm_os_warn(const char *file, int line)
{
	__atomic_add_fetch(&cvm_os_nr_warnings, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "cvm: broken invariant at %s:%d\n", file, line);
}

/* Return: zeroed memory of @bytes, or NULL. */
void *cvm_os_lazy_alloc(size_t bytes)
{
	void *p;

	if (!bytes)
		bytes = 1;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void *cvm_os_lazy_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes ? bytes : 1);
	return NULL;
}

int cvm_os_bitmap_init(struct cvm_os_bitmap *bm, u64 nbits)
{
	bm->nbits = nbits;
	bm->nwords = (nbits + 63) / 64;
	bm->nsummary = (bm->nwords + 63) / 64;
	bm->words = cvm_os_lazy_alloc(bm->nwords * sizeof(u64));
	bm->summary = cvm_os_lazy_alloc(bm->nsummary * sizeof(u64));
	if (!bm->words || !bm->summary) {
		cvm_os_bitmap_fini(bm);
		return -ENOMEM;
	}
	return 0;
}

void cvm_os_bitmap_fini(struct cvm_os_bitmap *bm)
{
	bm->words = cvm_os_lazy_free(bm->words, bm->nwords * sizeof(u64));
	bm->summary = cvm_os_lazy_free(bm->summary, bm->nsummary * sizeof(u64));
}

void cvm_os_bitmap_set(struct cvm_os_bitmap *bm, u64 bit)
{
	u64 w = bit / 64;

	bm->words[w] |= 1ULL << (bit % 64);
	bm->summary[w / 64] |= 1ULL << (w % 64);
}

void cvm_os_bitmap_clear(struct cvm_os_bitmap *bm, u64 bit)
{
	u64 w = bit / 64;

	bm->words[w] &= ~(1ULL << (bit % 64));
	if (!bm->words[w])
		bm->summary[w / 64] &= ~(1ULL << (w % 64));
}

/* Upfront pinning: every item, O(size) as the pinning itself. */
void cvm_os_bitmap_set_all(struct cvm_os_bitmap *bm)
{
	u64 w;

	for (w = 0; w < bm->nwords; w++)
		bm->words[w] = ~0ULL;
	if (bm->nbits % 64)
		bm->words[bm->nwords - 1] = (1ULL << (bm->nbits % 64)) - 1;
	for (w = 0; w < bm->nsummary; w++)
		bm->summary[w] = ~0ULL;
	if (bm->nwords % 64)
		bm->summary[bm->nsummary - 1] = (1ULL << (bm->nwords % 64)) - 1;
}

/**
 * cvm_os_bitmap_next() - the first set bit at or after @from
 * @bm: the bitmap
 * @from: where to start
 *
 * Return: the bit, or bm->nbits when none is set.
 */
u64 cvm_os_bitmap_next(const struct cvm_os_bitmap *bm, u64 from)
{
	u64 w, s, word;

	if (from >= bm->nbits)
		return bm->nbits;
	w = from / 64;
	word = bm->words[w] & (~0ULL << (from % 64));
	if (word)
		return w * 64 + __builtin_ctzll(word);
	/* The rest of the words, found through the summary. */
	for (w++; w < bm->nwords; w = (s + 1) * 64) {
		s = w / 64;
		word = bm->summary[s] & (~0ULL << (w % 64));
		if (word) {
			w = s * 64 + __builtin_ctzll(word);
			return w * 64 + __builtin_ctzll(bm->words[w]);
		}
	}
	return bm->nbits;
}

int cvm_os_map_init(struct cvm_os_map *map, u64 nr)
{
	int ret;

	map->slots = cvm_os_lazy_alloc(nr * sizeof(*map->slots));
	if (!map->slots)
		return -ENOMEM;
	ret = cvm_os_bitmap_init(&map->present, nr);
	if (!ret) {
		ret = cvm_os_bitmap_init(&map->reserved, nr);
		if (ret)
			cvm_os_bitmap_fini(&map->present);
	}
	if (ret) {
		map->slots =
		    cvm_os_lazy_free(map->slots, nr * sizeof(*map->slots));
		return ret;
	}
	map->nr_reserved = 0;
	map->strict = false;
	return 0;
}

void cvm_os_map_destroy(struct cvm_os_map *map)
{
	map->slots = cvm_os_lazy_free(map->slots,
				      map->present.nbits * sizeof(*map->slots));
	cvm_os_bitmap_fini(&map->present);
	cvm_os_bitmap_fini(&map->reserved);
	map->nr_reserved = 0;
}

void *cvm_os_zalloc(size_t bytes)
{
	return calloc(1, bytes);
}

void cvm_os_free(void *p)
{
	free(p);
}

void *cvm_os_vzalloc(size_t bytes)
{
	return bytes ? calloc(1, bytes) : NULL;
}

void cvm_os_vfree(void *p)
{
	free(p);
}

unsigned long *cvm_os_bitmap_zalloc(u64 nbits)
{
	if (nbits > CVM_OS_BITMAP_MAX_BITS)
		return NULL;
	return calloc(nbits / CVM_BITS_PER_LONG + 1, sizeof(unsigned long));
}

void cvm_os_bitmap_free(unsigned long *bits)
{
	free(bits);
}

void cvm_os_page_copy(struct cvm_page *to, struct cvm_page *from)
{
	memcpy(cvm_os_uaddr(to), cvm_os_uaddr(from), CVM_PAGE_SIZE);
}

void cvm_os_page_clear(struct cvm_page *page)
{
	memset(cvm_os_uaddr(page), 0, CVM_PAGE_SIZE);
}

void cvm_os_page_read(void *buf, struct cvm_page *page, size_t off, size_t len)
{
	memcpy(buf, cvm_os_uaddr(page) + off, len);
}

void cvm_os_page_write(struct cvm_page *page, size_t off, const void *buf,
		       size_t len)
{
	memcpy(cvm_os_uaddr(page) + off, buf, len);
}

/* SHA-256: the running context and a copy, swapped back on restore. */
struct cvm_os_hash {
	EVP_MD_CTX *ctx;
	EVP_MD_CTX *saved;
};

int cvm_os_hash_new(struct cvm_os_hash **ret)
{
	struct cvm_os_hash *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->ctx = EVP_MD_CTX_new();
	h->saved = EVP_MD_CTX_new();
	if (!h->ctx || !h->saved) {
		cvm_os_hash_free(h);
		return -ENOMEM;
	}
	*ret = h;
	return 0;
}

void cvm_os_hash_free(struct cvm_os_hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_CTX_free(h->saved);
	free(h);
}

int cvm_os_hash_init(struct cvm_os_hash *h)
{
	return EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

int cvm_os_hash_update(struct cvm_os_hash *h, const void *data, size_t len)
{
	return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : -EIO;
}

int cvm_os_hash_update_page(struct cvm_os_hash *h, struct cvm_page *page)
{
	return cvm_os_hash_update(h, cvm_os_uaddr(page), CVM_PAGE_SIZE);
}

int cvm_os_hash_final(struct cvm_os_hash *h, u8 *digest)
{
	return EVP_DigestFinal_ex(h->ctx, digest, NULL) == 1 ? 0 : -EIO;
}

int cvm_os_hash_save(struct cvm_os_hash *h)
{
	return EVP_MD_CTX_copy_ex(h->saved, h->ctx) == 1 ? 0 : -ENOMEM;
}

/* Back to the saved state: swapping the contexts can't fail. */
int cvm_os_hash_restore(struct cvm_os_hash *h)
{
	EVP_MD_CTX *ctx = h->ctx;

	h->ctx = h->saved;
	h->saved = ctx;
	return 0;
}

/*
 * AES-256-GCM: one context per direction, keyed once at creation; each
 * seal or open only sets its nonce. As the module's, the cipher works in
 * private bounce buffers: the ciphertext is copied out of the host page
 * once before it is verified and decrypted, and into it once after it is
 * sealed, so another thread writing the host page meanwhile can't make the
 * tag vouch for bytes other than those decrypted. The plaintext bounce is
 * cleansed after every call.
 */
struct cvm_os_aead {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
	u8 ct[CVM_PAGE_SIZE];
	u8 pt[CVM_PAGE_SIZE];
};

int cvm_os_aead_new_with_key(const u8 *key, struct cvm_os_aead **ret)
{
	struct cvm_os_aead *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->enc = EVP_CIPHER_CTX_new();
	a->dec = EVP_CIPHER_CTX_new();
	if (!a->enc || !a->dec) {
		cvm_os_aead_free(a);
		return -ENOMEM;
	}
	if (EVP_EncryptInit_ex(a->enc, EVP_aes_256_gcm(), NULL, key, NULL) !=
		1 ||
	    EVP_DecryptInit_ex(a->dec, EVP_aes_256_gcm(), NULL, key, NULL) !=
		1) {
		cvm_os_aead_free(a);
		return -EIO;
	}
	*ret = a;
	return 0;
}

int cvm_os_aead_new(struct cvm_os_aead **ret)
{
	u8 key[CVM_OS_AEAD_KEY_SIZE];
	int r;

	if (RAND_bytes(key, sizeof(key)) != 1)
		return -EIO;
	r = cvm_os_aead_new_with_key(key, ret);
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

void cvm_os_aead_free(struct cvm_os_aead *a)
{
	if (!a)
		return;
	/* Freeing a context cleanses its key schedule. */
	EVP_CIPHER_CTX_free(a->enc);
	EVP_CIPHER_CTX_free(a->dec);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

int cvm_os_aead_seal(struct cvm_os_aead *a, const u8 *iv, const u8 *aad,
		     struct cvm_page *from, struct cvm_page *to, u8 *ret_tag)
{
	int len, ret = -EIO;

	memcpy(a->pt, cvm_os_uaddr(from), CVM_PAGE_SIZE);
	if (EVP_EncryptInit_ex(a->enc, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(a->enc, NULL, &len, aad, CVM_OS_AEAD_AAD_SIZE) !=
		1 ||
	    EVP_EncryptUpdate(a->enc, a->ct, &len, a->pt, CVM_PAGE_SIZE) != 1 ||
	    EVP_EncryptFinal_ex(a->enc, a->ct + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_GCM_GET_TAG,
				CVM_OS_AEAD_TAG_SIZE, ret_tag) != 1)
		goto out;
	memcpy(cvm_os_uaddr(to), a->ct, CVM_PAGE_SIZE);
	ret = 0;
out:
	OPENSSL_cleanse(a->pt, CVM_PAGE_SIZE);
	return ret;
}

int cvm_os_aead_open(struct cvm_os_aead *a, const u8 *iv, const u8 *aad,
		     const u8 *tag, struct cvm_page *from, struct cvm_page *to)
{
	u8 tag_copy[CVM_OS_AEAD_TAG_SIZE];
	int len, ret = -EIO;

	memcpy(tag_copy, tag, sizeof(tag_copy));
	memcpy(a->ct, cvm_os_uaddr(from), CVM_PAGE_SIZE);
	if (EVP_DecryptInit_ex(a->dec, NULL, NULL, NULL, iv) != 1 ||
	    EVP_DecryptUpdate(a->dec, NULL, &len, aad, CVM_OS_AEAD_AAD_SIZE) !=
		1 ||
	    EVP_DecryptUpdate(a->dec, a->pt, &len, a->ct, CVM_PAGE_SIZE) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_GCM_SET_TAG,
				CVM_OS_AEAD_TAG_SIZE, tag_copy) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(a->dec, a->pt + len, &len) != 1) {
		ret = -EBADMSG;
		goto out;
	}
	memcpy(cvm_os_uaddr(to), a->pt, CVM_PAGE_SIZE);
	ret = 0;
out:
	OPENSSL_cleanse(a->pt, CVM_PAGE_SIZE);
	return ret;
}
