#!/bin/sh
# Runs inside the QEMU guest (see run-in-guest.sh) for `make run`: load
# cvm.ko, walk one VM through its life with cvm-demo, unload it.
#
#   guest-demo.sh BUILD_DIR
build=${1:?usage: guest-demo.sh BUILD_DIR}
status=0

insmod "$build/kmod/cvm.ko" || exit 1
echo "cvm.ko loaded: $(ls -l /dev/cvm)"
"$build/tests/vm/cvm-demo" /dev/cvm || status=1
rmmod cvm || status=1
[ -e /dev/cvm ] && { echo "/dev/cvm still there after rmmod"; status=1; }
echo "cvm.ko unloaded"
exit $status
