"""Launchers: N local processes (local.py), Cloud TPU VMs (tpu_vm.py), SLURM (slurm.sbatch), and an
ahead-of-time TPU compile check (aot.py)."""
