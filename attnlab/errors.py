"""The one exception type attnlab raises for bad input, with a message that says what to do."""


class AttnlabError(ValueError):
    """Bad input or an unavailable resource. The message says what is allowed and what to do.

    It subclasses ValueError so that ``except ValueError`` keeps working in user code.

    >>> raise AttnlabError("layer 40 is out of range: this model has layers 0..29")
    Traceback (most recent call last):
    ...
    attnlab.errors.AttnlabError: layer 40 is out of range: this model has layers 0..29
    """
