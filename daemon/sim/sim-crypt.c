// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-crypt.c - sealing secure pages into host pages with AES-256-GCM
 * (OpenSSL EVP), in exactly the module's format (cvm_crypt.c):
 *
 * - key: 32 random bytes per VM;
 * - nonce: 12 bytes, the seal's version as a little-endian u64 then four
 *   zero bytes; versions count from 1, one per seal, so a nonce is never
 *   reused under a key;
 * - associated data: 16 bytes, the GFN then the version, both
 *   little-endian u64, so a ciphertext moved to another GFN, or an older
 *   ciphertext of the same GFN, fails authentication;
 * - the 16-byte tag is returned to the caller, never put in the host page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sim-internal.h"

#define SIM_IV_SIZE 12
#define SIM_AAD_SIZE 16

/*
 * One context per direction, keyed once at creation: each seal or open
 * only sets its nonce.
 */
struct sim_crypt {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
	uint64_t next_version;
};

static void sim_put_le64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/**
 * sim_crypt_new_with_key() - sealing state with a given key
 * @key: SIM_KEY_SIZE bytes
 * @ret: the new state
 *
 * Return: 0, -ENOMEM, or -EIO when OpenSSL refuses the cipher.
 */
int sim_crypt_new_with_key(const uint8_t *key, struct sim_crypt **ret)
{
	struct sim_crypt *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->enc = EVP_CIPHER_CTX_new();
	c->dec = EVP_CIPHER_CTX_new();
	if (!c->enc || !c->dec) {
		sim_crypt_free(c);
		return -ENOMEM;
	}
	if (EVP_EncryptInit_ex(c->enc, EVP_aes_256_gcm(), NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(c->dec, EVP_aes_256_gcm(), NULL, key, NULL) != 1) {
		sim_crypt_free(c);
		return -EIO;
	}
	c->next_version = 1;
	*ret = c;
	return 0;
}

/* A VM's sealing state, with a fresh random key. */
int sim_crypt_new(struct sim_crypt **ret)
{
	uint8_t key[SIM_KEY_SIZE];
	int r;

	if (RAND_bytes(key, sizeof(key)) != 1)
		return -EIO;
	r = sim_crypt_new_with_key(key, ret);
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

struct sim_crypt *sim_crypt_free(struct sim_crypt *c)
{
	if (!c)
		return NULL;
	/* Freeing a context cleanses its key schedule. */
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	free(c);
	return NULL;
}

static void sim_crypt_prepare(uint64_t gfn, uint64_t version,
			      uint8_t *iv, uint8_t *aad)
{
	memset(iv, 0, SIM_IV_SIZE);
	sim_put_le64(iv, version);
	sim_put_le64(aad, gfn);
	sim_put_le64(aad + 8, version);
}

/**
 * sim_crypt_seal() - encrypt one page
 * @c: the VM's sealing state
 * @gfn: the GFN the contents belong to
 * @from: plaintext (a pool page)
 * @to: where the ciphertext goes (the host page); may equal @from
 * @ret_version: the version this seal used
 * @ret_tag: the tag, SIM_TAG_SIZE bytes
 *
 * Return: 0, or -EIO.
 */
int sim_crypt_seal(struct sim_crypt *c, uint64_t gfn, const uint8_t *from,
		   uint8_t *to, uint64_t *ret_version, uint8_t *ret_tag)
{
	uint8_t iv[SIM_IV_SIZE], aad[SIM_AAD_SIZE];
	uint64_t version = c->next_version++;
	int len;

	sim_crypt_prepare(gfn, version, iv, aad);
	if (EVP_EncryptInit_ex(c->enc, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(c->enc, NULL, &len, aad, sizeof(aad)) != 1 ||
	    EVP_EncryptUpdate(c->enc, to, &len, from, SIM_PAGE_SIZE) != 1 ||
	    EVP_EncryptFinal_ex(c->enc, to + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_GCM_GET_TAG, SIM_TAG_SIZE,
				ret_tag) != 1)
		return -EIO;
	*ret_version = version;
	return 0;
}

/**
 * sim_crypt_open() - verify and decrypt one page
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
int sim_crypt_open(struct sim_crypt *c, uint64_t gfn, uint64_t version,
		   const uint8_t *tag, const uint8_t *from, uint8_t *to)
{
	uint8_t iv[SIM_IV_SIZE], aad[SIM_AAD_SIZE], tag_copy[SIM_TAG_SIZE];
	int len;

	sim_crypt_prepare(gfn, version, iv, aad);
	memcpy(tag_copy, tag, sizeof(tag_copy));
	if (EVP_DecryptInit_ex(c->dec, NULL, NULL, NULL, iv) != 1 ||
	    EVP_DecryptUpdate(c->dec, NULL, &len, aad, sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(c->dec, to, &len, from, SIM_PAGE_SIZE) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_GCM_SET_TAG, SIM_TAG_SIZE,
				tag_copy) != 1)
		return -EIO;
	if (EVP_DecryptFinal_ex(c->dec, to + len, &len) != 1)
		return -EBADMSG;
	return 0;
}
