"""regularization.max_norm per layer: one number bounds every layer with weights, a list one each in
order; with max_norm_output=false the output layer is free (its rows grow past the bound) while
each hidden layer's rows stay at or below their own bound."""

import torch
from conftest import TINY


def row_norms(run_dir):
    """Each Linear layer's largest row norm in the last weights, in the model's order."""
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    return [w.norm(dim=1).max().item() for k, w in state.items() if k.endswith("weight") and w.dim() == 2]


ARGS = [*TINY, "optimizer.lr=1.0", "model.hidden_sizes=[16,16]", "regularization=max_norm", "early_stopping=none"]


def test_one_bound_for_the_hidden_layers_leaves_the_output_layer_free(cli):
    free = cli("train", *ARGS, "regularization.max_norm=0.3", "regularization.max_norm_output=false")
    assert free.code == 0, free.err
    *hidden, output = row_norms(free.run_dir())
    assert all(norm <= 0.3 + 1e-5 for norm in hidden), hidden
    assert output > 0.3 * 2, output  # unconstrained: trained well past the hidden layers' bound


def test_a_list_gives_each_layer_its_own_bound_and_the_default_bounds_the_output_too(cli):
    result = cli("train", *ARGS, "regularization.max_norm=[0.3,0.6,0.4]")
    assert result.code == 0, result.err
    norms = row_norms(result.run_dir())
    assert all(norm <= bound + 1e-5 for norm, bound in zip(norms, (0.3, 0.6, 0.4))), norms
    assert norms[1] > 0.3 + 1e-3, norms  # the second layer kept its own, larger bound
