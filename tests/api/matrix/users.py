"""People: every member of an organization looks up its people; another organization's admin
finds none of them."""

from .common import ApiExpect, no_kwargs


def _rep(w):
    return {"pk": w.rep.pk}


EXPECTATIONS = {
    ("api:user_list", "get"): ApiExpect(no_kwargs, 401, 200, 200, 200, 200, 200),
    ("api:user_detail", "get"): ApiExpect(_rep, 401, 200, 200, 200, 404, 200),
}
