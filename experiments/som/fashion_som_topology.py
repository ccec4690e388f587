"""The Fashion-MNIST map of fashion_som.py stays ordered: topographic error under 0.1.

Topographic error (Kiviluoto 1996): the fraction of test images whose best and second-best
matching units are not grid neighbours (4-neighbourhood) — a fold of the sheet puts similar images
on distant units. The runs are fashion_som.py's (read back at the same commit).

  python -m experiments.reproduce experiments/som/fashion_som_topology.py
"""

from experiments.som import fashion_som


def get_config(arg: str = ''):
  return fashion_som.get_config(arg)


def measure(seed, workdir, overrides):
  from experiments.som import measures
  found = measures.fashion_map(get_config, seed, workdir, overrides,
                               fashion_som.KMEANS_ITERATIONS)
  return found['topographic_error'], found


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Kohonen', 1990, 'The self-organizing map',
                  'https://doi.org/10.1109/5.58325', 'Section III (ordering)'),
      metric='topographic error (Kiviluoto 1996), not reported in the paper',
      paper_value='no published Fashion-MNIST number (qualitative: ordered maps)',
      paper_setting='2-D sheets of units, Gaussian neighbourhood shrinking over training',
      full_hardware='any CPU (the claim\'s run is its own full scale)',
      full_time='about a minute',
      claim=Claim(
          statement='the map of 784-pixel clothing images is ordered: for fewer than 1 in 10 '
                    'test images are the two best-matching units not grid neighbours',
          setting='as fashion_som.py: Fashion-MNIST, 20x20 map, PCA init, batch map, batch 1000, '
                  f'600 steps, radius 10 -> {fashion_som.RADIUS_END}; scored on the 10k test '
                  'images',
          metric='test topographic error', threshold=0.1, direction='<=', seeds=(0, 1, 2),
          measure=measure, minutes=5.0),
  )
