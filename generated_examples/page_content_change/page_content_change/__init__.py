"""page_content_change: an evgen job (mediawiki.page_change.v1 -> mediawiki.page_content_change.v1)."""
