# upgrade.sh - sourced by check-hostile.sh: VMMs outlive a cvmd upgrade.
# cvmd and cvm-vmm of the last release before api_version 2 (the previous
# landed tip, built from this repository's history) start a VM; the new
# cvmd (ASan build) takes over its VMM and drives it through the rest of
# its life, and also starts a new VM on the old cvm-vmm binary.
OLD_REV=258aea5
REPO=$(cd "$HERE/../.." && pwd)
OLD=$WORK/old
if ! git -C "$REPO" cat-file -e "$OLD_REV^{commit}" 2>/dev/null; then
	not_ok "upgrade: the previous release ($OLD_REV) is not in this clone's history"
	return 0
fi
mkdir -p "$OLD"
git -C "$REPO" archive "$OLD_REV" | tar -x -C "$OLD"
if ! make -s -C "$OLD" build/daemon/cvmd build/daemon/cvm-vmm >"$WORK/old-build.log" 2>&1; then
	not_ok "upgrade: the previous release builds"
	sed 's/^/# /' "$WORK/old-build.log" | tail -20
	return 0
fi
stop_cvmd
NEW_CVMD=$CVMD NEW_VMM=$VMM
CVMD=$OLD/build/daemon/cvmd VMM=$OLD/build/daemon/cvm-vmm
start_cvmd || not_ok "upgrade: the old cvmd starts"
ctl create up --memory 16M >/dev/null
ctl init-start up >/dev/null
ctl guest-write up 0x1000 --data "before the upgrade" >/dev/null
stop_cvmd	# the VMM keeps running, as under KillMode=process
CVMD=$NEW_CVMD	# the new cvmd, still pointing new VMs at the old binary
start_cvmd || not_ok "upgrade: the new cvmd starts"
jq_is "upgrade: the new cvmd reconnects to the old VMM" "$(ctl --json show up)" .state transient
expect_exit 0 "upgrade: init-done through the old VMM" init-done up
jq_is "upgrade: the old VMM's VM is secure" "$(ctl --json show up)" .state secure
check "upgrade: the guest's data survived" [ "$(ctl guest-read up 0x1000 --length 18)" = "before the upgrade" ]
expect_exit 0 "upgrade: share through the old VMM (PAGE op present on the wire)" share up 0x2000
expect_exit 0 "upgrade: a snapshot from the old VMM" snapshot up
expect_exit 0 "upgrade: terminate through the old VMM" terminate up
expect_exit 0 "upgrade: destroy" destroy up
expect_exit 0 "upgrade: a new VM on the old cvm-vmm binary" create up2 --memory 16M
expect_exit 0 "upgrade: INIT_START (op 0, now sent explicitly) to the old VMM" init-start up2
jq_is "upgrade: the old VMM took it as INIT_START" "$(ctl --json show up2)" .state transient
ctl destroy up2 >/dev/null
stop_cvmd
VMM=$NEW_VMM
