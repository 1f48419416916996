"""Every write to events, one module per subject: events, usage (mark used), comments, directory."""
