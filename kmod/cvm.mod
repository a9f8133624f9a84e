/work/main/kmod/cvm_main.o
/work/main/kmod/cvm_vm.o
/work/main/kmod/cvm_memslot.o
/work/main/kmod/cvm_pin.o
/work/main/kmod/cvm_gfn.o
/work/main/kmod/cvm_access.o
/work/main/kmod/cvm_fsm.o
