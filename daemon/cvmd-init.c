// SPDX-License-Identifier: LGPL-2.1-or-later
/* cvmd-init.c - a struct cvmd's empty state, for cvmd and its fuzz targets. */
#include "cvmd.h"

/* Lists empty and the record timer ready, on @loop; cfg is the caller's. */
void cvmd_init(struct cvmd *d, uv_loop_t *loop)
{
	d->loop = loop;
	list_init(&d->vms);
	list_init(&d->clients);
	list_init(&d->peers);
	list_init(&d->bus_senders);
	list_init(&d->watches);
	cvmd_vm_records_init(d);
}
