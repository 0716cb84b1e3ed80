"""The catalogue: offices, services, counters, opening hours, closures and the mobile office."""
