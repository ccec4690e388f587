"""Objectives: what differs between kinds of training, as the few pure functions the loop calls.

Every objective is a class built as `Objective(config, model, tx)` with:

  init_state(rng, batch) -> TrainState          the initial state, shapes taken from `batch`
  train_step(state, batch) -> (state, metrics)  one update; metrics are scalar means
  eval_step(state, batch) -> sums               per-batch sums over examples with batch['mask'];
                                                must hold 'count'; the loop reports sum / count
  plots(state, batch, directory) -> [paths]     host-side pictures from one eval batch (may be [])
  eval_step's sums may also hold arrays (a confusion matrix [C, C]): the loop does not average
  or log those, it hands their totals over the eval split to
  plot_tables(tables, directory, label_names)   optional: pictures of those totals, with the
                                                class names of the data set
  summarize(means) -> means                     optional: metrics derived from the eval means
                                                (perplexity = exp(mean loss)); default: none
  accumulates                                   optional attribute, default False: True when the
                                                step takes its gradient over micro-batches when
                                                config.optimizer.accumulate_steps > 1 (every
                                                LossObjective: gradients() then one update)
  logged_schedule(step, lr) -> {name: value}    optional: the hyperparameters in force at `step`
                                                for logs and learning curves, given the
                                                optimizer's lr there; default {'lr': lr} (a SOM
                                                logs its radius and rate, which it follows instead)
  class_scores(outputs) -> [B, K]               optional: one score per class, the largest the
                                                predicted class (logits, capsule lengths), from
                                                what `forward` returns in evaluation; the objectives
                                                that have it are the ones train.explain explains

Each class declares the `config.objective_args` it reads in `ARGS` (train/objectives/arguments.py):
their kinds and defaults, filled into the config before config.json is written.

The loop jits `train_step` and `eval_step` with the state's shardings and never asks which family
it is training. A new kind of training is a new class here, not a branch in the loop.
"""

from train.errors import UserError
from train.objectives import arguments
from train.objectives import capsule
from train.objectives import classification
from train.objectives import darts
from train.objectives import gan
from train.objectives import lm
from train.objectives import multilabel
from train.objectives import population
from train.objectives import rbf
from train.objectives import reconstruction
from train.objectives import regression
from train.objectives import seq2seq
from train.objectives import som

OBJECTIVES = {
    'classification': classification.Classification,
    'regression': regression.Regression,
    'lm': lm.LanguageModel,
    'seq2seq': seq2seq.SequenceToSequence,
    'reconstruction': reconstruction.Reconstruction,
    'som': som.SOMObjective,
    'rbf': rbf.RBFObjective,
    'gan': gan.GANObjective,
    'capsule': capsule.Capsule,
    'darts': darts.DARTS,
    'multilabel': multilabel.MultiLabel,
    'population': population.PopulationClassification,
}


def objective_class(config):
  if config.objective not in OBJECTIVES:
    raise UserError(f'unknown objective {config.objective!r}; known: '
                    f'{", ".join(sorted(OBJECTIVES))}')
  return OBJECTIVES[config.objective]


def resolve_args(config) -> None:
  """Fills config.objective_args with the defaults its objective declares (ARGS), so config.json
  states every value the run uses; an unknown key is an error naming the nearest declared ones."""
  from train import config as config_lib
  arguments.resolve(config, objective_class(config), config_lib.build_model(config.model))


def build(config, model, tx):
  cls = objective_class(config)
  if config.optimizer.accumulate_steps > 1 and not getattr(cls, 'accumulates', False):
    raise UserError(f'objective {config.objective} does not accumulate gradients (its step is not '
                    f'one gradient then one update): set config.optimizer.accumulate_steps=1 and '
                    f'a smaller config.data.batch_size instead')
  return cls(config, model, tx)
