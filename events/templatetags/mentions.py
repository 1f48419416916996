"""Render a comment with its stored mentions highlighted. Pure: it reads the rows it is given
(prefetched by the view), never the database."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from events.mentions import MENTION_RE

register = template.Library()


@register.filter
def with_mentions(body: str, mentioned) -> str:
    names = {user.username.lower(): user for user in mentioned}

    def replace(match: re.Match) -> str:
        raw = match.group(1)
        name = raw.rstrip(".-+")
        user = names.get(name.lower())
        if user is None:
            return escape(match.group(0))
        tail = raw[len(name) :]
        return (
            f'<span class="mention" title="{escape(user.name)}">@{escape(name)}</span>'
            f"{escape(tail)}"
        )

    out, last = [], 0
    for match in MENTION_RE.finditer(body):
        out.append(escape(body[last : match.start()]))
        out.append(replace(match))
        last = match.end()
    out.append(escape(body[last:]))
    return mark_safe("".join(out).replace("\n", "<br>"))
