"""Schemas of the model group, one module per family as in runner/build/models/ (where each
name's builder registers)."""

from runner.config.members import Members
from runner.config.models.autoencoder import AutoencoderConfig
from runner.config.models.cnn import CNNConfig
from runner.config.models.hrnn import HRNNConfig
from runner.config.models.linear import LinearSVMConfig, SoftmaxRegressionConfig
from runner.config.models.mlp import MLPConfig
from runner.config.models.recurrent import GRUConfig, LSTMConfig, RNNConfig
from runner.config.models.text_cnn import TextCNNConfig
from runner.config.models.transformer import TransformerConfig

MODEL_MEMBERS = Members(
    "model",
    {
        "mlp": MLPConfig,
        "cnn": CNNConfig,
        "softmax_regression": SoftmaxRegressionConfig,
        "linear_svm": LinearSVMConfig,
        "rnn": RNNConfig,
        "lstm": LSTMConfig,
        "gru": GRUConfig,
        "hrnn": HRNNConfig,
        "transformer": TransformerConfig,
        "text_cnn": TextCNNConfig,
        "autoencoder": AutoencoderConfig,
    },
)
