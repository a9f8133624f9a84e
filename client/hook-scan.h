/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hook-scan.h - the libvirt hook's fast decision, without libxml2: is a
 * domain XML surely well-formed and surely not opted in (no
 * <launchSecurity>, no element in the cvm namespace)? See hook-scan.c.
 */
#ifndef CVM_HOOK_SCAN_H
#define CVM_HOOK_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True only when the document is in a strict subset of XML that libxml2
 * parses without error, its root is a <domain> without a namespace, and
 * it has no element named launchSecurity and no namespace at all (so no
 * cvm metadata element). False means "not sure": run the full hook.
 */
bool cvm_hook_scan_plain(const char *buf, size_t len);

#endif /* CVM_HOOK_SCAN_H */
