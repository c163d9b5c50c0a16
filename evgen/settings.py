"""User defaults for the generator: where the stream config and schema repositories are.

Precedence: command-line options, then environment variables
(``EVGEN_STREAM_CONFIG``; ``EVGEN_SCHEMA_URIS``, comma-separated), then the
user config file ``~/.config/evgen/config.yaml`` (``$XDG_CONFIG_HOME`` is
honoured; ``EVGEN_CONFIG`` names another file, which must exist; ``/dev/null`` for none):

.. code-block:: yaml

    stream_config: https://meta.wikimedia.org/w/api.php
    schema_uris:
      - https://schema.wikimedia.org/repositories/primary/jsonschema
      - https://schema.wikimedia.org/repositories/secondary/jsonschema

Relative paths in the file are relative to the file's directory.

    >>> s = load_settings(env={"EVGEN_STREAM_CONFIG": "/srv/streams.json",
    ...                        "EVGEN_SCHEMA_URIS": "/srv/a, https://b.example/repo",
    ...                        "EVGEN_CONFIG": "/dev/null"})
    >>> s.stream_config, s.schema_uris
    ('/srv/streams.json', ['/srv/a', 'https://b.example/repo'])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from evgen import jsonyaml
from evgen.errors import ConfigError
from evgen.uris import is_http

__all__ = ["GeneratorSettings", "config_path", "load_settings"]

ENV_CONFIG = "EVGEN_CONFIG"
ENV_STREAM_CONFIG = "EVGEN_STREAM_CONFIG"
ENV_SCHEMA_URIS = "EVGEN_SCHEMA_URIS"


@dataclass(frozen=True)
class GeneratorSettings:
    """Where stream configs and schemas come from (None / empty when not configured)."""

    stream_config: str | None = None
    schema_uris: list[str] = field(default_factory=list)
    config_file: Path | None = None  #: the user config file consulted

    def require(self) -> tuple[str, list[str]]:
        """Both settings, or a :class:`ConfigError` telling how to give the missing one."""
        file = self.config_file or config_path()
        if not self.stream_config:
            raise ConfigError(
                f"no stream config: pass --stream-config URI, set {ENV_STREAM_CONFIG}, "
                f"or put 'stream_config:' in {file}"
            )
        if not self.schema_uris:
            raise ConfigError(
                f"no schema repository: pass --schema-uri URI, set {ENV_SCHEMA_URIS} (comma-separated), "
                f"or put 'schema_uris:' in {file}"
            )
        return self.stream_config, list(self.schema_uris)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The user config file evgen reads."""
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    return Path(platformdirs.user_config_dir("evgen", appauthor=False)) / "config.yaml"


def load_settings(
    *,
    stream_config: str | None = None,
    schema_uris: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> GeneratorSettings:
    """Merge explicit values over environment variables over the user config file."""
    env = os.environ if env is None else env
    file = config_path(env)
    from_file = _read_file(file, named=bool(env.get(ENV_CONFIG)))
    env_uris = [u.strip() for u in env.get(ENV_SCHEMA_URIS, "").split(",") if u.strip()]
    return GeneratorSettings(
        stream_config=stream_config or env.get(ENV_STREAM_CONFIG) or from_file.stream_config,
        schema_uris=list(schema_uris) or env_uris or from_file.schema_uris,
        config_file=file,
    )


def _read_file(path: Path, named: bool) -> GeneratorSettings:
    """The settings in ``path``; none if the default file does not exist (a ``named`` one must)."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        if named:
            raise ConfigError(f"evgen config {path} (named by {ENV_CONFIG}) does not exist") from None
        return GeneratorSettings()
    except OSError as e:
        raise ConfigError(f"cannot read evgen config {path}: {e.strerror or e}") from None
    try:
        data = jsonyaml.loads(text, str(path)) or {}
    except ValueError as e:
        raise ConfigError(f"evgen config: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"evgen config {path} must be a mapping with stream_config / schema_uris")
    unknown = set(data) - {"stream_config", "schema_uris"}
    if unknown:
        raise ConfigError(f"evgen config {path}: unknown key(s) {', '.join(sorted(unknown))}")
    stream_config = data.get("stream_config")
    uris = data.get("schema_uris", [])
    if isinstance(uris, str):
        uris = [uris]
    if stream_config is not None and not isinstance(stream_config, str):
        raise ConfigError(f"evgen config {path}: stream_config must be a string")
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise ConfigError(f"evgen config {path}: schema_uris must be a list of strings")
    base = path.parent
    return GeneratorSettings(
        stream_config=_relative_to(stream_config, base) if stream_config else None,
        schema_uris=[_relative_to(u, base) for u in uris],
    )


def _relative_to(uri: str, base: Path) -> str:
    if is_http(uri) or uri.startswith("file:") or Path(uri).expanduser().is_absolute():
        return uri
    return str(base / uri)
