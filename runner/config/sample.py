"""The `sample` group's schema: how a language model's text is drawn, every trainer.sample_every
epochs during training (samples.txt, TensorBoard's TEXT tab) and by `runner sample RUN_DIR`
(runner/build/sampling.py draws it)."""

from dataclasses import dataclass
from typing import Optional

from runner.errors import require


@dataclass
class SampleConfig:
    length: int = 200  # tokens drawn after the prompt
    temperature: float = 1.0  # the logits are divided by it: below 1 surer, above 1 more varied
    top_k: int = 0  # draw among the k likeliest tokens only; 0 = among all
    prompt: str = ""  # the text to continue; "" = start from the training text's most frequent token
    seed: Optional[int] = None  # the draw's own seed (the training's random stream is untouched); null = the run's seed

    def __post_init__(self):
        require(self.length >= 1, "length", f"at least 1 token, got {self.length}")
        require(self.temperature > 0, "temperature", f"above 0, got {self.temperature}")
        require(self.top_k >= 0, "top_k", f"0 (all tokens) or more, got {self.top_k}")
        require(
            self.seed is None or 0 <= self.seed < 2**63,
            "seed",
            f"an integer from 0 to 2**63-1 (or null), got {self.seed}",
        )
