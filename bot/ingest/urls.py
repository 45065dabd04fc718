"""URL helpers shared by feed parsing and feed discovery; they never raise on odd input."""

from urllib.parse import urljoin, urlsplit


def join_url(base: str | None, link: str) -> str:
    """Return link resolved against base; a link urllib cannot parse is kept as given."""
    if not base:
        return link
    try:
        return urljoin(base, link)
    except ValueError:  # "http://[bad" and the like, from untrusted feeds and pages
        return link


def url_scheme(url: str) -> str:
    """Return the lower-case scheme of url, or "" when it has none or cannot be parsed."""
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""
