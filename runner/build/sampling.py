"""Text drawn from a language model: any module mapping token ids (B, T) to logits (B, T, V)
(the recurrent models of token_rnn.py, the transformer). Each step feeds the last `block_size`
tokens (the model's own block_size when it has one, else the training window, data.context),
divides the last position's logits by the temperature, keeps the top_k likeliest (0: all), never
draws the unknown token (id 0), and draws from the softmax with its own seeded generator, so the
training's random stream is the same with sampling on or off."""

from typing import List, Optional

import torch

from runner.config.data.text_corpus import detokenise, prompt_ids


@torch.inference_mode()
def generate(
    model, start: List[int], length: int, temperature: float, top_k: int, seed: int, block_size: int
) -> List[int]:
    """`length` token ids drawn after the ids `start` (at least one)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)  # on the CPU: the same draw on every device
    ids = list(start)
    for _ in range(length):
        window = torch.tensor([ids[-block_size:]], dtype=torch.long, device=device)
        logits = model(window)[0, -1].float().cpu() / temperature
        logits[0] = -float("inf")  # the unknown token is no text
        if 0 < top_k < len(logits):
            kept = torch.topk(logits, top_k).values[-1]
            logits[logits < kept] = -float("inf")
        ids.append(int(torch.multinomial(torch.softmax(logits, 0), 1, generator=generator)))
    model.train(was_training)
    return ids[len(start) :]


def sample_text(model, itos: List[str], tokens: str, cfg, seed: int, context: int, prompt: Optional[str] = None) -> str:
    """The prompt (cfg.prompt unless given) and its continuation, as text. An empty prompt starts
    from the most frequent training token (id 1), which is then part of the text."""
    prompt = cfg.prompt if prompt is None else prompt
    start = prompt_ids(prompt, itos, tokens) or [1]
    block = getattr(model, "block_size", None) or context
    drawn = generate(model, start, cfg.length, cfg.temperature, cfg.top_k, seed, block)
    head = prompt if prompt else itos[1]
    return head + ("" if tokens == "char" else " ") + detokenise([itos[i] for i in drawn], tokens)
