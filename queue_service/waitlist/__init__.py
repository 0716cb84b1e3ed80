"""The waitlist ("Terminwecker"): residents wait for a freed time and are offered it in turn."""
