"""Connectors: where a job's events come from and go to.

A connector is looked up by name (``file``, ``kafka``, ``memory``) from a
descriptor's ``connector`` field; it validates its own options.

    >>> from evgen.connectors import get_connector
    >>> get_connector("file").name
    'file'
"""

from evgen.connectors.base import Connector, Endpoint, get_connector, register

__all__ = ["Connector", "Endpoint", "get_connector", "register"]
