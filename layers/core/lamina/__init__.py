"""Lamina's shared library: the Lambda layer "core"."""

import os

__version__ = "0.1.0"

# Without it, `import litellm` fetches the model price map from the internet (a blocking 5 s wait, or a
# failure offline): every process that imports lamina uses litellm's bundled copy instead.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
