cmd_/work/main/kmod/modules.order := {   echo /work/main/kmod/cvm.ko; :; } > /work/main/kmod/modules.order
