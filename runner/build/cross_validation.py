"""k-fold cross-validation: `data.cv_folds=k data.cv_fold=i` validates on the i-th
contiguous 1/k of the training split and trains on the rest.

The dataset's own validation split is then unused and the test split stays the
test split, so the k runs of one setting estimate its validation score on k
disjoint held-out parts, and `runner compare` pools them (mean ± std over folds)
as it pools seeds. Folds are contiguous, not shuffled: the training splits here
are already in random order (MNIST's pickle, the synthetic generator), and
contiguous blocks are the same whatever the run's seed.

Sweep the folds as any other key (experiments/cv.yaml):
    runner train -m data.cv_folds=5 data.cv_fold=0,1,2,3,4

The keys' range checks are the schemas' (runner/config/data/common.py, check_folds).
"""

import dataclasses

import torch

from runner.errors import require


def fold_bounds(n: int, folds: int, fold: int) -> tuple:
    """[start, end) of fold `fold` among n examples; sizes differ by at most one."""
    return fold * n // folds, (fold + 1) * n // folds


def cross_validation_fold(dataset, folds: int, fold: int):
    """The dataset with fold `fold` of its training split as validation set, the other folds as training set."""
    train = dataset.train
    n = len(train)
    require(folds <= n, "data.cv_folds", f"at most the number of training examples ({n}), got {folds}")
    start, end = fold_bounds(n, folds, fold)
    kept = torch.cat([torch.arange(start), torch.arange(end, n)])
    return dataclasses.replace(dataset, train=train.take(kept), val=train.take(slice(start, end)))
