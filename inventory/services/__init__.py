"""Every write to inventory, one module per subject (ledger, transfers, receiving, recalls, ...)."""
