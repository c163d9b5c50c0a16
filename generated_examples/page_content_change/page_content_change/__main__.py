"""`python -m page_content_change`: run this job (like `evgen run` in its directory). This file is yours."""

from evgen.runtime import main

main(__package__ or "page_content_change")
