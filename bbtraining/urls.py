from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values) -> str:
    """An absolute URL on the public site, also outside a request (worker, CLI)."""
    parts = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)
