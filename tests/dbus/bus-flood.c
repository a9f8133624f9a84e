// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bus-flood ADDRESS OBJECT-PATH N - send N org.cvm.VM1.Snapshot calls at
 * once from one connection, collect the replies that come within 3 s and
 * print "limit=L ok=O other=X pending=P": L refused with
 * org.cvm.Error.Limit, O answered, X other errors, P still in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

static unsigned int limited, answered, other, replies;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const sd_bus_error *err = sd_bus_message_get_error(m);

	(void)userdata;
	(void)e;
	replies++;
	if (!err)
		answered++;
	else if (!strcmp(err->name, "org.cvm.Error.Limit"))
		limited++;
	else
		other++;
	return 0;
}

int main(int argc, char **argv)
{
	sd_bus *bus = NULL;
	unsigned int i, n;
	time_t end;
	int ret;

	if (argc != 4)
		return 2;
	n = (unsigned int)strtoul(argv[3], NULL, 0);
	ret = sd_bus_new(&bus);
	if (ret >= 0)
		ret = sd_bus_set_address(bus, argv[1]);
	if (ret >= 0)
		ret = sd_bus_set_bus_client(bus, 1);
	if (ret >= 0)
		ret = sd_bus_start(bus);
	for (i = 0; ret >= 0 && i < n; i++)
		ret = sd_bus_call_method_async(bus, NULL, "org.cvm.Manager1",
					       argv[2], "org.cvm.VM1", "Snapshot",
					       on_reply, NULL, "");
	if (ret < 0) {
		fprintf(stderr, "bus-flood: %s\n", strerror(-ret));
		return 1;
	}
	end = time(NULL) + 3;
	while (replies < n && time(NULL) < end) {
		ret = sd_bus_process(bus, NULL);
		if (ret < 0)
			break;
		if (!ret)
			sd_bus_wait(bus, 200000);
	}
	printf("limit=%u ok=%u other=%u pending=%u\n", limited, answered, other,
	       n - replies);
	sd_bus_flush_close_unref(bus);
	return 0;
}
