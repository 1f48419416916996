from .common import ApiExpect, no_kwargs

EXPECTATIONS = {
    # Everyone signed in follows the feed; what each reads is tests/api/test_ledger_feed.py's.
    ("api:ledger_feed", "get"): ApiExpect(no_kwargs, 401, 200, 200, 200, 200, 200),
}
