/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * virt-api.h - libvirt's client library, loaded with dlopen() by cvmd's
 * libvirt thread instead of linked: linking it costs every cvmd start some
 * 70 libraries' relocations (about 15 ms of the 18 ms to READY here, a
 * second under emulation), and READY must not wait for libvirt. Without
 * libvirt.so.0 cvmd runs with reconciliation off.
 */
#ifndef CVMD_VIRT_API_H
#define CVMD_VIRT_API_H

#include <stddef.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define VIRT_API_FUNCS(X)                                                     \
	X(virConnectClose)                                                    \
	X(virConnectDomainEventDeregisterAny)                                 \
	    X(virConnectDomainEventRegisterAny) X(virConnectIsAlive)          \
		X(virConnectListAllDomains) X(virConnectOpen)                 \
		    X(virConnectRegisterCloseCallback)                        \
			X(virConnectUnregisterCloseCallback) X(virDomainFree) \
			    X(virDomainGetName) X(virDomainGetXMLDesc)        \
				X(virDomainIsActive) X(virEventAddTimeout)    \
				    X(virEventRegisterDefaultImpl)            \
					X(virEventRunDefaultImpl)             \
					    X(virEventUpdateTimeout)          \
						X(virGetLastErrorMessage)     \
						    X(virSetErrorFunc)

/* One pointer per function, named as the function: virt.virConnectOpen(). */
struct virt_api {
#define VIRT_API_FIELD(f) __typeof__(f) *f;
	VIRT_API_FUNCS(VIRT_API_FIELD)
#undef VIRT_API_FIELD
};

extern struct virt_api virt;

/* Fill `virt` (the libvirt thread calls it once). Return 0, or -ENOENT
 * with why in err. */
int virt_api_load(char *err, size_t len);

#endif /* CVMD_VIRT_API_H */
