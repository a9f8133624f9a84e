cmd_/work/main/kmod/cvm.o := ld -m elf_x86_64 -z noexecstack --no-warn-rwx-segments   -r -o /work/main/kmod/cvm.o @/work/main/kmod/cvm.mod 
