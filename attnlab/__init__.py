"""attnlab: poke the attention heads of real language models.

>>> import attnlab
>>> model = attnlab.load("smollm2")                     # doctest: +SKIP
>>> t = model.run("The cat sat on the mat. The cat")    # doctest: +SKIP
>>> t.pattern(18, 6)                                    # doctest: +SKIP
"""
from ._errors import AttnlabError
from ._interventions import Add, Block, Patch
from ._load import load
from ._model import Model
from ._trace import Trace

__version__ = "0.1.0"
__all__ = ["Add", "AttnlabError", "Block", "Model", "Patch", "Trace", "load", "__version__"]
