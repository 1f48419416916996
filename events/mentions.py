"""@mention parsing: a pure function, no database (Zulip's zerver/lib/mention.py splits it the
same way). Resolution against users is a single query in `events.selectors`."""

from __future__ import annotations

import re

# A mention is "@" + a username (letters, digits and . _ + -) that is not glued to a word
# before it, so the "@" inside an email address (riley@example.com) is not a mention.
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.+-]+)", re.UNICODE)


def possible_mentions(text: str) -> list[str]:
    """Usernames mentioned in `text`, lower-cased, in order of first appearance, no repeats.

    Trailing punctuation that ends a sentence ("@dana." "@dana,") is not part of the name.
    """
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text or ""):
        name = match.group(1).rstrip(".-+")
        if name:
            seen.setdefault(name.lower(), None)
    return list(seen)
