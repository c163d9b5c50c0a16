"""{{ cookiecutter.job }}: an evgen job ({{ cookiecutter.source_stream }} -> {{ cookiecutter.sink_stream }})."""
