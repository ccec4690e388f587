"""Multi-host start-up: `jax.distributed.initialize()` with what the environment provides.

- Cloud TPU VMs: nothing to set; JAX finds the coordinator and the process ids itself.
- SLURM: JAX reads SLURM_* (one task per host or per GPU) itself.
- Anything else (CPU clusters, local multi-process tests, GPU hosts without SLURM): set
  JAX_COORDINATOR_ADDRESS=host:port, JAX_NUM_PROCESSES and JAX_PROCESS_ID
  (launch/local.py does this for N processes on 127.0.0.1).

NNZOO_HEARTBEAT_TIMEOUT_SECONDS (default: JAX's 100) is how long the others wait for a process that
stopped sending heartbeats before they abort: a dead peer ends the run instead of hanging it.
"""

import os

import jax


def initialize() -> None:
  kwargs = {}
  if os.environ.get('NNZOO_HEARTBEAT_TIMEOUT_SECONDS'):
    kwargs['heartbeat_timeout_seconds'] = int(os.environ['NNZOO_HEARTBEAT_TIMEOUT_SECONDS'])
  address = os.environ.get('JAX_COORDINATOR_ADDRESS')
  if address:
    kwargs.update(coordinator_address=address,
                  num_processes=int(os.environ['JAX_NUM_PROCESSES']),
                  process_id=int(os.environ['JAX_PROCESS_ID']))
    if os.environ.get('JAX_LOCAL_DEVICE_IDS'):
      kwargs['local_device_ids'] = [int(i) for i in os.environ['JAX_LOCAL_DEVICE_IDS'].split(',')]
  # Without an address: TPU VM or SLURM, discovered from the environment.
  jax.distributed.initialize(**kwargs)
