"""The heads room: what each attention head does, measured on a model from the runner.

Scores (``attnlab.scores``) and the census label heads by their patterns; the experiments (ablation
sweeps, attribution, activation patching, direct effects, StreamingLLM windows) measure what heads
cause. Scores are arrays [layers, heads]; experiments return :class:`Effects`, arrays that also know
what they measured.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> effects = attnlab.ablation_sweep(model, "P Q A B X Y S T A", attnlab.metrics.prob("B"))
>>> effects.shape
(2, 2)
"""
from . import metrics, scores
from .attribution import attribution
from .census import census, census_summary
from .direct import direct_effects
from .effects import Effects
from .metrics import Bound, Metric, check_metric
from .patching import patch_fraction, patch_heads, patch_resid
from .probes import long_text, needle_prompts, reads_english, repeated_tokens, text_ids
from .sweep import ablation_sweep
from .windows import window_perplexity, window_table

__all__ = ["Bound", "Effects", "Metric", "ablation_sweep", "attribution", "census", "census_summary",
           "check_metric", "direct_effects", "long_text", "metrics", "needle_prompts",
           "patch_fraction", "patch_heads", "patch_resid", "reads_english", "repeated_tokens",
           "scores", "text_ids", "window_perplexity", "window_table"]
