/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirt.h - reconciling cvmd's VMs with libvirt's domains. */
#ifndef CVMD_LIBVIRT_H
#define CVMD_LIBVIRT_H

#include "cvmd.h"

/* The XML namespace of cvm's opt-in element in a domain's <metadata>. */
#define CVM_LIBVIRT_NS "http://cvm.org/xmlns/libvirt/1.0"

/* uri "none": no libvirt. Return: 0, or -errno (not connected yet is 0). */
int cvmd_libvirt_start(struct cvmd *d, const char *uri);
void cvmd_libvirt_stop(struct cvmd *d);

#endif /* CVMD_LIBVIRT_H */
