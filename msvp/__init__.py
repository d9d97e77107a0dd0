"""msvp: Multi-Scale Visual Prompting (Khazem, arXiv 2512.03663), re-implemented and checked."""
import importlib
import importlib.util

__version__ = "0.1.0"

# The public names, imported on first use (PEP 562) rather than with the package: `python -m msvp`
# then reaches its command line before torch loads (seconds on a busy machine), so a Ctrl-C during
# that load is its one line, not a traceback from this file.
_EXPORTS = {"RunConfig": "config", "variant_name": "config", "build_model": "models", "count_params": "models",
            "FUSIONS": "prompting", "PROMPT_SIZES": "prompting", "SCALE_SETS": "prompting",
            "MultiScalePrompt": "prompting", "PromptedModel": "prompting"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:   # msvp.models after a bare `import msvp`
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'msvp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
