"""The disproportionality statistics live in :mod:`spontaneous.disproportionality`, beside the
spontaneous reports they read, so that a source's tables can be computed there; this name
stays for callers written against it."""

from spontaneous.disproportionality import *  # noqa: F403
from spontaneous.disproportionality import __all__ as __all__
from spontaneous.disproportionality import (
    counts as counts,
)
from spontaneous.disproportionality import (
    mgps_fit as mgps_fit,
)
from spontaneous.disproportionality import (
    mgps_likelihood as mgps_likelihood,
)
from spontaneous.disproportionality import (
    mgps_posterior as mgps_posterior,
)
from spontaneous.disproportionality import (
    ratios as ratios,
)
