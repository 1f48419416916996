"""Inventory pages, one module per subject (units, transfers, holds, receiving, recalls, ...)."""
