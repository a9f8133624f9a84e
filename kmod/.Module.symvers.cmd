cmd_/work/main/kmod/Module.symvers :=  sed 's/ko$$/o/'  /work/main/kmod/modules.order | scripts/mod/modpost -m      -o /work/main/kmod/Module.symvers -e -i Module.symvers -T - 
