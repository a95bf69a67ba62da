"""Activation functions by name (`model.activation`)."""

from torch import nn

from runner.registry import Registry

ACTIVATIONS = Registry("activation")
ACTIVATIONS.add("relu", nn.ReLU)
ACTIVATIONS.add("leaky_relu", nn.LeakyReLU)
ACTIVATIONS.add("elu", nn.ELU)
ACTIVATIONS.add("gelu", nn.GELU)
ACTIVATIONS.add("tanh", nn.Tanh)
ACTIVATIONS.add("sigmoid", nn.Sigmoid)
ACTIVATIONS.add("linear", nn.Identity)


def make_activation(name: str) -> nn.Module:
    return ACTIVATIONS.get(name, "model.activation")()
