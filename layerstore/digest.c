// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fsutil.h"
#include "store-private.h"

struct ls_digester {
	EVP_MD_CTX *ctx;
};

struct ls_digester *ls_digester_new(void)
{
	struct ls_digester *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
		ls_digester_free(d);
		return NULL;
	}
	return d;
}

int ls_digester_update(struct ls_digester *d, const void *buf, size_t len)
{
	return EVP_DigestUpdate(d->ctx, buf, len) == 1 ? 0 : -EIO;
}

int ls_digester_final(struct ls_digester *d, char *ret_digest)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1 || n != 32)
		return -EIO;
	memcpy(ret_digest, "sha256:", 7);
	for (unsigned int i = 0; i < n; i++) {
		ret_digest[7 + 2 * i] = hex[md[i] >> 4];
		ret_digest[7 + 2 * i + 1] = hex[md[i] & 15];
	}
	ret_digest[LS_DIGEST_STR_LEN] = '\0';
	return 0;
}

void ls_digester_free(struct ls_digester *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

int ls_digest_valid(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != LS_DIGEST_STR_LEN)
		return 0;
	for (s += 7; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

int ls_digest_fd(int fd, char *ret_digest, uint64_t *ret_size,
		 int (*each)(void *arg, const void *buf, size_t n), void *arg)
{
	struct ls_digester *d = ls_digester_new();
	char buf[1 << 16];
	uint64_t size = 0;
	ssize_t n;
	int r = 0;

	if (!d)
		return -ENOMEM;
	while ((n = cu_read_all(fd, buf, sizeof(buf))) > 0) {
		ls_digester_update(d, buf, n);
		size += n;
		if (each && (r = each(arg, buf, n)) < 0)
			break;
	}
	if (r == 0)
		r = n < 0 ? (int)n : ls_digester_final(d, ret_digest);
	ls_digester_free(d);
	if (r == 0 && ret_size)
		*ret_size = size;
	return r;
}
