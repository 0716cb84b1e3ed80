"""Staff accounts, roles, API tokens and registered devices (kiosks, displays)."""
