"""Which target URLs name a local folder. Apart from target.py because the prefetch helper
asks too, before anything heavier than this is imported (see prefetch.py)."""
from __future__ import annotations

from urllib.parse import urlsplit


def is_local_url(url: str) -> bool:
    """A plain path, `file://`, or a one-letter scheme (a Windows drive, `C:/...`)."""
    if url.startswith("file://"):
        return True
    return "://" not in url or len(urlsplit(url).scheme) == 1
