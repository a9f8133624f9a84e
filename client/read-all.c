// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * read-all.c - a whole input up to a bound (read-all.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "read-all.h"

int cvm_read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
	size_t cap = 65536 < max ? 65536 : max, len = 0;
	char *buf = malloc(cap ? cap : 1), *p;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	while (len < max) {
		if (len == cap) {
			cap = cap * 2 > max ? max : cap * 2;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			free(buf);
			return (int)n;
		}
		if (!n)
			break;
		len += n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}
