"""The names the top-level `loss:` key may take; the losses themselves are runner/build/losses.py."""

LOSS_KIND = "loss"  # in messages: "unknown loss 'x'; choose one of: ..."
LOSS_NAMES = ("cross_entropy", "hinge", "mse", "quadratic", "sigmoid_cross_entropy", "bce")
