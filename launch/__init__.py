"""Launchers: N local processes (local.py), Cloud TPU VMs (tpu_vm.py, with the worker bootstrap
bootstrap.sh and the per-host readiness check doctor.py), SLURM (slurm.sbatch), and an
ahead-of-time TPU compile check (aot.py)."""
