"""NAS on Fashion-MNIST: regularized evolution finds better CNNs than random search at equal budget.

Simulated on the shipped pool table (experiments/nas/table/cnn_fashion.npz): a uniform sample of
the CNN space of models/nas_cnn.py (2-4 conv blocks of 16/32/64/128 channels, 3x3 or 5x5
kernels, max/avg/no pooling, dense 128/256/1024, at most the 2-conv net's parameters), each
trained once at low fidelity through the engine, all of a chunk in one compiled step
(`python -m experiments.nas.make_fashion_table`, whose engine config is `get_config()` here).
Both strategies spend the same budget of queries (low-fidelity runs); a search is scored by the
validation accuracy of the best member it found (experiments/nas/fashion_search.py). Each claim
seed is a search seed: SEARCHES searches per strategy. The claim's workdir gets
plots/best_so_far.png (best-so-far validation accuracy against the budget, RE vs RS).

  python -m experiments.nas.make_fashion_table          # the table (once; <= 60 CPU minutes)
  python -m experiments.reproduce experiments/nas/fashion_evolution_vs_random.py

'tiny': four candidates, five steps (tests). 'full': DARTS on Fashion at the paper's search
settings, for a GPU (experiments/nas/darts_fashion.py).
"""

from experiments import harness
from experiments.nas import fashion_search as search


def get_config(arg: str = ''):
  """The engine config of the table's first chunk (the claim is simulated on the table it built);
  'tiny': 4 candidates, 5 steps; 'full': the DARTS search on Fashion for a GPU."""
  from experiments.nas import make_fashion_table
  if arg == 'tiny':
    from models import nas_cnn
    return make_fashion_table.config(nas_cnn.VARIANTS['population_tiny'][1]['archs'], 5)
  if arg == 'full':
    from experiments.nas import darts_fashion
    return darts_fashion.search_config('full')
  if arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return make_fashion_table.config(make_fashion_table.pool()[:make_fashion_table.CHUNK])


def measure(seed, workdir, overrides):
  """mean best-found validation accuracy of RE - that of RS, over SEARCHES searches each with
  search seed `seed`; the curves go to workdir/plots/best_so_far.png."""
  if overrides:
    raise ValueError('this claim simulates searches on the shipped table; it takes no '
                     f'--config overrides (got {overrides})')
  from etils import epath
  table = search.load()
  curves = {name: search.best_so_far(table, name, seed) for name in search.NAMES}
  plots = epath.Path(workdir) / 'plots'
  plots.mkdir(parents=True, exist_ok=True)
  search.plot(curves, plots / 'best_so_far.png',
              f'Fashion CNN pool of {table.num_archs}, search seed {seed}')
  rs, re = (float(curves[n][:, -1].mean()) for n in search.NAMES)
  return re - rs, {'random_search': rs, 'regularized_evolution': re,
                   'pool_best': float(table.valid[-1].mean(0).max())}


def get_record():
  from experiments.nas import make_fashion_table
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Real, Aggarwal, Huang & Le', 2019,
                  'Regularized evolution for image classifier architecture search (AAAI)',
                  'https://arxiv.org/abs/1802.01548',
                  'comparison with random search at equal compute; Fashion-MNIST NAS numbers '
                  'from Assuncao et al. 2018 (DENSER) and the Fashion-MNIST benchmark table'),
      metric='Fashion-MNIST test accuracy of the best architecture found',
      paper_value='DENSER 0.953 (Assuncao et al. 2018: networks evolved on CIFAR-10 and trained '
                  'on Fashion, so not a search on Fashion); Google AutoML 0.939 (24 compute '
                  'hours); Real et al.: evolution beats random search at equal compute '
                  '(qualitative)',
      paper_setting='DENSER: grammatical evolution of CNNs on CIFAR-10, the best network '
                    'retrained on Fashion-MNIST; AutoML: Google Cloud AutoML Vision, 24 hours',
      full_hardware='DARTS search on Fashion (`full`): 1 GPU or TPU chip',
      full_time='~0.5 GPU day (first-order DARTS at the paper\'s search settings on 30k images)',
      claim=Claim(
          statement='regularized evolution finds better architectures than random search at '
                    f'an equal budget of {search.BUDGET} low-fidelity runs: mean best-found '
                    'validation accuracy of RE > that of RS',
          setting=f'pool table of a uniform sample of the CNN space on Fashion (low fidelity: '
                  'experiments/nas/make_fashion_table.py); budget '
                  f'{search.BUDGET} queries; {search.SEARCHES} simulated searches per strategy '
                  f'and search seed; RE population {search.POPULATION}, sample {search.SAMPLE}, '
                  'mutation within the pool',
          # RE ahead by at least one validation image.
          metric='mean best-found validation accuracy: RE - RS',
          threshold=1 / make_fashion_table.VALID,
          direction='>=', seeds=search.SEEDS, measure=measure, minutes=1.0),
      full_config_arg='full',
      notes='Nothing is trained by the claim: it simulates searches on the shipped table.',
  )
