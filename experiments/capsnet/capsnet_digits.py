"""CapsNet with dynamic routing (3 iterations) and the reconstruction decoder on the 8x8 digits.

Sabour, Frosst & Hinton 2017, "Dynamic Routing Between Capsules", Table 1: 0.25% ± 0.005 MNIST test
error with 3 routing iterations and the reconstruction loss (mean of 3 trials). Our CPU setting
keeps the architecture's pattern (Conv -> PrimaryCaps -> DigitCaps 10x16D with routing -> decoder)
at the size of scikit-learn's 8x8 digits (the `digits` row of models/capsnet.py).

  python -m train --config experiments/capsnet/capsnet_digits.py --workdir runs/capsnet
  python -m train --config experiments/capsnet/capsnet_digits.py --workdir runs/capsnet_r1 \
      --config.model.routing_iterations=1
  python -m train --config experiments/capsnet/capsnet_digits.py:full --workdir gs://.../capsnet

'full' is the paper's MNIST setting (TFDS mnist, 28x28, shifted by up to 2 pixels with zero padding,
Adam with an exponentially decaying learning rate, batch 128); meant for one accelerator.
"""

from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'capsule'
  c.model.name = 'capsnet'
  c.model.variant = 'digits'
  c.model.routing_iterations = 3
  c.model.reconstruct = True
  # The paper's 0.0005 multiplies a sum over 784 pixels; over 64 pixels the same share of the loss
  # is 0.0005 * 784 / 64. (With 0.0005 itself the decoder only learns the class-mean image.)
  c.objective_args.recon_weight = 0.0005 * 784 / 64
  c.objective_args.shift = 0
  c.data.name = 'nnzoo_digits'
  c.data.batch_size = 64
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 2e-3
  c.optimizer.schedule = 'cosine'
  c.num_steps = 600
  c.log_every = 50
  c.eval_every = 300
  c.ckpt_every = 300
  if arg == 'tiny':
    c.model.variant = 'tiny'
    c.data.batch_size = 32
    c.optimizer.learning_rate = 1e-2
    c.num_steps = 20
    c.eval_every = 0
    c.ckpt_every = 0
    c.plots = False
  elif arg == 'small':
    c.num_steps = 300
    c.eval_every = 150
    c.ckpt_every = 150
  elif arg == 'full':
    full_mnist(c)
  elif arg:
    raise ValueError(f'unknown argument {arg!r}; use "", tiny, small or full')
  return c


def full_mnist(c):
  """Sabour et al. Section 4 on TFDS mnist; also used by the other full-scale CapsNet configs."""
  c.model.variant = 'sabour_mnist'
  c.model.im2col = False            # accelerators' convolutions need no detour through patches
  c.objective_args.shift = 2
  c.objective_args.recon_weight = 0.0005
  c.data.name = 'mnist'
  c.data.cache = False
  c.data.batch_size = 128
  c.data.eval_batch_size = 1000
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = 'exponential'
  c.optimizer.decay_rate = 0.96     # per epoch of 469 steps, as in the authors' code
  c.optimizer.decay_steps = 469
  c.num_steps = 469 * 150           # ~150 epochs; the authors' reference code trains this long
  c.log_every = 100
  c.eval_every = 4690
  c.ckpt_every = 4690


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Sabour, Frosst & Hinton', 2017, 'Dynamic Routing Between Capsules',
                  'https://arxiv.org/abs/1710.09829', 'Table 1'),
      metric='MNIST test error (%)',
      paper_value='0.25 ± 0.005 (CapsNet, 3 routing iterations, with reconstruction)',
      paper_setting='MNIST 28x28 shifted by up to 2 px, 8.2M-parameter CapsNet, r=3, margin loss + '
                    '0.0005 x reconstruction, Adam, mean of 3 trials',
      full_hardware='1 GPU or 1 TPU v5e chip',
      full_time='several hours (~70k steps of batch 128)',
      claim=Claim(
          statement='a CapsNet with dynamic routing and a reconstruction decoder classifies '
                    'handwritten digits accurately',
          setting='digits 8x8 (scikit-learn), 1437 train / 360 test, CapsNet `digits` row '
                  '(Conv64 3x3, 16x8D primary caps, 10x16D digit caps, r=3, decoder 128-256-64), '
                  '600 Adam steps of batch 64, CPU',
          metric='test accuracy', threshold=0.97, direction='>=', seeds=(0, 1, 2),
          eval_key='accuracy', minutes=6.0),
  )


def train_eval(config, seed, workdir, overrides=()):
  """Trains `config` with `seed` in `workdir` and returns its final eval metrics (for measures).

  The comparative claims of this study share an arm (this file's default CapsNet, same seeds): a
  finished run of exactly the same config (its full JSON, seed included) trained at this same
  commit is read back from runs/capsnet_arms/ instead of being trained again. The key carries the
  commit, so code of another commit (or a changed tree, which names no code: it is never read
  back nor stored) trains again; training is deterministic given code, config and seed, so this
  only saves time. Reuse is counted by train.tally, and so written into a recorded result.
  """
  import hashlib
  import json
  import shutil
  from etils import epath
  from experiments import provenance
  from train import config as config_lib
  from train import loop
  from train import tally
  with config.unlocked():
    config.seed = seed
  config_lib.apply_overrides(config, list(overrides))
  here = provenance.reusable_commit()
  if here is None:
    return loop.train_and_evaluate(config, workdir, overwrite=True, progress=False)['eval']
  key = hashlib.sha256(f'{here}\n{config_lib.to_json(config)}'.encode()).hexdigest()[:16]
  cached = epath.Path(ARMS_CACHE) / key / 'summary.json'
  if cached.exists():
    print(f'    (reusing the finished run {cached.parent}, trained at {here})', flush=True)
    tally.reused(cached.parent, here)
    return json.loads(cached.read_text())['eval']
  evaluation = loop.train_and_evaluate(config, workdir, overwrite=True, progress=False)['eval']
  cached.parent.mkdir(parents=True, exist_ok=True)
  shutil.copy(epath.Path(workdir) / 'config.json', cached.parent / 'config.json')
  (cached.parent / provenance.RUN_COMMIT).write_text(here + '\n')
  shutil.copy(epath.Path(workdir) / 'summary.json', cached)
  tally.also_at(cached.parent)
  return evaluation


ARMS_CACHE = 'runs/capsnet_arms'


def compare(config_a, config_b, key, seed, workdir, overrides=(), names=('a', 'b')):
  """Trains both configs with the same seed; returns metric(a) - metric(b) and logs both arms."""
  import json
  from etils import epath
  workdir = epath.Path(workdir)
  a = train_eval(config_a, seed, workdir / names[0], overrides)[key]
  b = train_eval(config_b, seed, workdir / names[1], overrides)[key]
  print(f'    seed {seed}: {key} {names[0]} = {a:.4f}, {names[1]} = {b:.4f}', flush=True)
  workdir.mkdir(parents=True, exist_ok=True)   # both arms may have been read back
  (workdir / 'arms.json').write_text(json.dumps({names[0]: a, names[1]: b, 'key': key}))
  return a - b
