"""Statistics, the public status of all offices, satisfaction ratings (no personal data)."""
