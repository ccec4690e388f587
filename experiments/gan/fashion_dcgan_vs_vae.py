"""DCGAN (Radford, Metz & Chintala 2016) against a VAE (Kingma & Welling 2014) on Fashion-MNIST:
whose samples are nearer the real test images in a Fashion classifier's features.

The GAN and the measure are fashion_dcgan.py's (the Frechet distance of 10,000 samples to the test
images in the penultimate features of cnn2.py's net, trained with seed 0 at the same commit; its
test accuracy printed and kept in the details); the VAE is experiments/autoencoder/fashion_vae.py's
(784-500-(20)-500-784 tanh, Bernoulli decoder, 6000 steps), and its samples are what its
samples.png shows: the decoder's Bernoulli means at 10,000 codes drawn from the prior. The claim:
FD(DCGAN) / FD(VAE) <= 1, i.e. the GAN's samples are the nearer (the VAE's means are blurred
images; a GAN's samples are sharp). No published Fashion-MNIST number; the threshold is the one
the claim states, set before any run. Recorded at e7c7e55 (seeds 0-2): FD(DCGAN) 67.8 / 66.2 /
67.8 against FD(VAE) 138.0 / 136.6 / 144.1 (the VAE's test negative ELBO 248.6 / 248.3 / 248.1
nats), ratio 0.482 +- 0.011: the VAE's blurred means are about twice as far from the test images.

  python -m experiments.reproduce experiments/gan/fashion_dcgan_vs_vae.py

The DCGAN runs are fashion_dcgan.py's, read back when a claim trained them at the same commit
(harness.cached_eval), as is the classifier's (harness.cached_files). Time alone: fashion_dcgan.py's
~75 minutes and the VAE's three runs with their scoring (the record, reading back the DCGAN runs
of fashion_dcgan.py's record at the same commit, took 3.6 minutes of its own for two VAE runs), ~82
minutes.
"""

from experiments.gan import fashion_dcgan

THRESHOLD = 1.0


def get_config(arg: str = ''):
  return fashion_dcgan.get_config(arg)


def measure(seed, workdir, overrides):
  """FD(DCGAN samples) / FD(VAE samples); the overrides are the GAN's (the VAE trains as its own
  config says)."""
  from experiments.gan import measures
  gan = measures.fashion_gan(get_config, seed, workdir, overrides)
  vae = measures.fashion_vae(seed, workdir)
  return gan['fd'] / vae['fd'], {
      'fd_dcgan': gan['fd'], 'fd_vae': vae['fd'], 'fd_gaussian': gan['fd_gaussian'],
      'fd_train_images': gan['fd_train_images'], 'vae_test_nelbo': vae['loss'],
      'min_class_share_dcgan': gan['min_class_share'],
      'min_class_share_vae': vae['min_class_share'],
      'classifier_accuracy': gan['classifier_accuracy']}


def get_record():
  from experiments.records import Claim
  return fashion_dcgan.record(Claim(
      statement='a DCGAN\'s samples are nearer the real clothing images than a VAE\'s, in a '
                'Fashion classifier\'s features (Frechet distance)',
      setting=fashion_dcgan.SETTING + '; against fashion_vae.py\'s VAE (6000 steps), its decoder '
              'means at 10,000 prior draws',
      metric='FD(DCGAN samples) / FD(VAE samples)', threshold=THRESHOLD, direction='<=',
      seeds=(0, 1, 2), measure=measure, minutes=82.0))
