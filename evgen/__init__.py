"""evgen: typed PyFlink jobs for Event Platform streams.

    >>> import evgen
    >>> evgen.StreamRef.parse("mediawiki.page_change.v1:1.1.0").version
    '1.1.0'
"""

from evgen.errors import (
    CodegenError,
    ConfigError,
    ContractError,
    EvgenError,
    SchemaError,
    StreamConfigError,
)
from evgen.streamref import StreamRef

__all__ = [
    "CodegenError",
    "ConfigError",
    "ContractError",
    "EvgenError",
    "SchemaError",
    "StreamConfigError",
    "StreamRef",
]
__version__ = "0.1.0"
