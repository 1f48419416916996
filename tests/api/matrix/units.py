from .common import ApiExpect, no_kwargs


def _unit(w):
    return {"pk": w.objects["unit"].pk}


EXPECTATIONS = {
    ("api:unit_list", "get"): ApiExpect(no_kwargs, 401, 200, 200, 200, 200, 200),
    # The rep's own unit: everyone of the organization who may see it; another org's admin: 404.
    ("api:unit_detail", "get"): ApiExpect(_unit, 401, 200, 200, 200, 404, 404),
    ("api:unit_ledger", "get"): ApiExpect(_unit, 401, 200, 200, 200, 404, 404),
    # The schema and its docs describe the API and hold no data: open to anyone.
    ("api:schema", "get"): ApiExpect(no_kwargs, 200, 200, 200, 200, 200, 200),
    ("api:docs", "get"): ApiExpect(no_kwargs, 200, 200, 200, 200, 200, 200),
}
