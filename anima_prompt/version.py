"""The toolkit's version: the one written into PNGs, SARIF reports, index metadata and `anima --version`.

Its only source is the installed distribution's metadata (`importlib.metadata`), which the build writes from
`pyproject.toml`; the README's set-up commands always install the toolkit.
"""

from functools import cache
from importlib import metadata

DISTRIBUTION = "anima-toolkit"
UNKNOWN = "unknown (not installed)"


@cache
def toolkit_version() -> str:
    """The installed version of anima-toolkit, e.g. `0.1.0`; `UNKNOWN` when it is not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN
