"""End to end on the bundled SmolLM2-135M: GPTQ with clipping beats round-to-nearest (CPU, slow)."""

import copy
from pathlib import Path

import pytest
import torch

from marlin_quant import calibration, evaluate, models, pipeline
from marlin_quant.config import QuantConfig

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def smollm2():
    try:
        source = models.resolve(None)
    except models.ModelError as exc:
        pytest.skip(str(exc))
    return models.load_model(source, dtype=torch.float32), models.load_tokenizer(source)


def test_gptq_clip_beats_rtn_on_held_out_text(smollm2):
    base, tokenizer = smollm2
    # a small, coarse version of configs/smollm2-135m.yaml, to fit CI's time
    config = QuantConfig.from_yaml(ROOT / "configs" / "smollm2-135m.yaml").replace(nsamples=16, seqlen=128, clip_step=0.05)
    samples = calibration.calibration_samples("stdlib", tokenizer, config.nsamples, config.seqlen, config.seed)
    ids = evaluate.tokenize(tokenizer, "\n\n".join(calibration.stdlib_documents("evaluation")))
    ppl = {}
    for name, cfg in {"rtn": config.replace(method="rtn"), "gptq": config}.items():
        model = copy.deepcopy(base)
        res = pipeline.quantize_model(model, samples, cfg, device="cpu", progress=False)
        assert len(res.layers) == 7 * 30 and not res.skipped  # g64 divides 576: everything runs
        ppl[name] = evaluate.perplexity(model, ids, seqlen=256, max_windows=4)
    full = evaluate.perplexity(base, ids, seqlen=256, max_windows=4)
    assert full < ppl["gptq"] < ppl["rtn"], (full, ppl)
