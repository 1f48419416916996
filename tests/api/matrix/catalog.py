"""Products and locations: every member of the organization reads them (another organization's
admin gets their own, and a 404 for this one's product)."""

from .common import ApiExpect, no_kwargs


def _product(w):
    return {"pk": w.objects["unit"].product_id}


EXPECTATIONS = {
    ("api:product_list", "get"): ApiExpect(no_kwargs, 401, 200, 200, 200, 200, 200),
    ("api:product_detail", "get"): ApiExpect(_product, 401, 200, 200, 200, 404, 200),
    # Receivers see every location of the organization; a rep, those a transfer form offers.
    ("api:location_list", "get"): ApiExpect(no_kwargs, 401, 200, 200, 200, 200, 200),
}
