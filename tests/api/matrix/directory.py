"""The directory: every member of an organization reads their own."""

from .common import ApiExpect, no_kwargs

EXPECTATIONS = {
    (f"api:{name}_list", "get"): ApiExpect(no_kwargs, 401, 200, 200, 200, 200, 200)
    for name in ("facility", "physician", "procedure")
}
