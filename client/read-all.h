/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * read-all.h - a whole input up to a bound, libc only: shared by cvmctl
 * and the hook entry, which must stay free of cvmctl's libraries.
 */
#ifndef CVM_READ_ALL_H
#define CVM_READ_ALL_H

#include <stddef.h>

/*
 * cvm_read_all() - read @fd to its end, or until @max bytes are read (the
 * rest is left unread); *@ret is malloc'ed, the caller frees it.
 * Return: 0, or -errno.
 */
int cvm_read_all(int fd, size_t max, char **ret, size_t *ret_len);

#endif /* CVM_READ_ALL_H */
