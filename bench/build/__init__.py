"""The full-scale load, one module per thing it plans: people, units, events; then writing and
proof."""
