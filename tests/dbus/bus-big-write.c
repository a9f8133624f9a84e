// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bus-big-write ADDRESS OBJECT-PATH BYTES - call org.cvm.VM1.GuestWrite
 * with BYTES zero bytes (more than busctl can put on a command line) and
 * print the D-Bus error name, or "ok".
 */
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

int main(int argc, char **argv)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus *bus = NULL;
	size_t len;
	void *data;
	int ret;

	if (argc != 4)
		return 2;
	len = strtoull(argv[3], NULL, 0);
	data = calloc(1, len ? len : 1);
	ret = sd_bus_new(&bus);
	if (ret >= 0)
		ret = sd_bus_set_address(bus, argv[1]);
	if (ret >= 0)
		ret = sd_bus_set_bus_client(bus, 1);
	if (ret >= 0)
		ret = sd_bus_start(bus);
	if (ret >= 0)
		ret = sd_bus_message_new_method_call(bus, &m, "org.cvm.Manager1",
						     argv[2], "org.cvm.VM1",
						     "GuestWrite");
	if (ret >= 0)
		ret = sd_bus_message_append(m, "t", (uint64_t)0);
	if (ret >= 0)
		ret = sd_bus_message_append_array(m, 'y', data, len);
	if (ret < 0) {
		fprintf(stderr, "bus-big-write: setup failed: %d\n", ret);
		return 1;
	}
	ret = sd_bus_call(bus, m, 0, &error, &reply);
	printf("%s\n", ret >= 0 ? "ok" : error.name ? error.name : "failed");
	sd_bus_error_free(&error);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	free(data);
	return 0;
}
