"""msvp: Multi-Scale Visual Prompting (Khazem, arXiv 2512.03663), re-implemented and checked."""
from .models import build_model, count_params, variant_name
from .prompting import FUSIONS, PROMPT_SIZES, SCALE_SETS, MultiScalePrompt, PromptedModel

__all__ = ["build_model", "count_params", "variant_name", "MultiScalePrompt", "PromptedModel",
           "FUSIONS", "PROMPT_SIZES", "SCALE_SETS"]
__version__ = "0.1.0"
