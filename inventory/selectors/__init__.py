"""Reads of inventory that need more than one queryset call, one module per subject."""
