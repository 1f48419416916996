"""The catalog, units and their custody ledger, transfers, holds, receiving, imports and exports,
recalls, par levels."""
