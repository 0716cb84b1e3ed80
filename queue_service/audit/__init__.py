"""The audit log: who changed what, and who looked at a resident's personal data, and when."""
