"""Nielsen ch. 5: the speed-of-learning measurement (runner/analyse/speed_of_learning.py)
and the accuracy rows Ch5-1h..Ch5-4h of `runner reproduce`."""

import json

import numpy as np
import torch

from runner.analyse import speed_of_learning as sol
from runner.build.models import build_model
from runner.config.models.mlp import MLPConfig
from runner.config.regularization import RegularizationConfig


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def backprop_bias_norms(net, x, y):
    """network2.py's backprop written out in numpy (output error a - y), bias gradients
    averaged over the images, norm per hidden layer."""
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    ws = [m.weight.detach().numpy() for m in linears]
    bs = [m.bias.detach().numpy() for m in linears]
    a, zs, acts = x.reshape(len(x), -1).numpy(), [], []
    for w, b in zip(ws, bs):
        acts.append(a)
        z = a @ w.T + b
        zs.append(z)
        a = sigmoid(z)
    delta = a - np.eye(ws[-1].shape[0])[y.numpy()]
    grads = [delta.mean(axis=0)]
    for layer in range(len(ws) - 2, -1, -1):
        s = sigmoid(zs[layer])
        delta = (delta @ ws[layer + 1]) * s * (1 - s)
        grads.insert(0, delta.mean(axis=0))
    return [float(np.linalg.norm(g)) for g in grads[:-1]]


def test_bias_gradient_norms_match_a_hand_written_backprop():
    torch.manual_seed(3)
    cfg = MLPConfig(hidden_sizes=[5, 4, 3], activation="sigmoid", init="nielsen_fan_in")
    net = build_model(cfg, RegularizationConfig(), (1, 2, 3), 4).double()
    x, y = torch.rand(7, 1, 2, 3, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 1, 0, 2])
    measured = sol.hidden_bias_norms(net, x, y)
    assert len(measured) == 3
    np.testing.assert_allclose(measured, backprop_bias_norms(net, x, y), rtol=1e-10)


def test_full_batch_step_is_network2s_update_with_weight_decay_over_n():
    torch.manual_seed(0)
    net = build_model(
        MLPConfig(hidden_sizes=[3], activation="sigmoid", init="nielsen_fan_in"), RegularizationConfig(), (1, 2, 2), 2
    ).double()
    x, y = torch.rand(4, 1, 2, 2, dtype=torch.float64), torch.tensor([0, 1, 1, 0])
    before = [p.detach().clone() for p in net.parameters()]
    sol.train_norms(net, x, y, epochs=1)
    grads = [p.grad for p in net.parameters()]
    for (name, p), old, g in zip(net.named_parameters(), before, grads):
        decay = 1 - sol.LR * sol.L2 / len(x) if name.endswith("weight") else 1.0
        torch.testing.assert_close(p.detach(), decay * old - sol.LR * g)


def test_speed_of_learning_at_init_is_the_books_order_of_magnitude():
    x, y = sol.first_images(1000)
    first, second = sol.hidden_bias_norms(sol.build_net([30, 30], seed=0), x, y)
    # the book: 0.07 and 0.31; the seed moves them by tens of percent, not by a factor of 3
    assert 0.07 / 3 < first < 0.07 * 3
    assert 0.31 / 3 < second < 0.31 * 3
    assert second > 2 * first  # the vanishing gradient itself


def test_report_section_reads_the_measurement(tmp_path):
    x = torch.rand(6, 1, 28, 28, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    nets = {}
    for layers, book in sol.BOOK_NORMS.items():
        net = sol.build_net([30] * layers, seed=1)
        nets[str(layers)] = {
            "book": book,
            "initial": [sol.hidden_bias_norms(net, x, y)],
            "curves": [sol.train_norms(net, x, y, 3)],
        }
    result = {"seeds": 1, "epochs": 3, "lr": sol.LR, "l2": sol.L2, "images": 6, "nets": nets}
    folder = tmp_path / "speed_of_learning"
    folder.mkdir()
    (folder / "speed_of_learning.json").write_text(json.dumps(result))
    sol.plot(result, folder / "speed_of_learning.png")
    run = tmp_path / "Ch5-2h" / "seed0"  # a finished accuracy run beside it: peak 96.70, final 96.50
    run.mkdir(parents=True)
    (run / "metrics.csv").write_text("epoch,val/accuracy,seconds\n1,0.9500,1.0\n2,0.9670,1.0\n3,0.9650,1.0\n")
    (run / "results.json").write_text("{}")
    text = sol.report_section(folder)
    assert "| Ch5-2h | 96.9 | 96.70 | 96.50 |" in text and "| Ch5-4h | 96.53 | - | - |" in text
    assert "| 4 hidden | 1 | 0.003 |" in text
    assert "ratio at epoch 0" in text and "speed_of_learning.png" in text
    assert (folder / "speed_of_learning.png").stat().st_size > 1000
    assert sol.report_section(tmp_path / "absent") == ""


def test_chapter5_rows_are_listed(cli):
    result = cli("reproduce", "--list")
    assert result.code == 0
    for layers, value in zip(range(1, 5), ["784-30-10 ", "784-30-30-10 ", "784-30-30-30-10 ", "784-30-30-30-30-10 "]):
        line = next(ln for ln in result.out.splitlines() if ln.startswith(f"Ch5-{layers}h "))
        assert "nielsen-ch5" in line and value in line
