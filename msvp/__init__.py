"""msvp: Multi-Scale Visual Prompting (Khazem, arXiv 2512.03663), re-implemented and checked."""
from .config import RunConfig, variant_name
from .models import build_model, count_params
from .prompting import FUSIONS, PROMPT_SIZES, SCALE_SETS, MultiScalePrompt, PromptedModel

__all__ = ["RunConfig", "build_model", "count_params", "variant_name", "MultiScalePrompt", "PromptedModel",
           "FUSIONS", "PROMPT_SIZES", "SCALE_SETS"]
__version__ = "0.1.0"
