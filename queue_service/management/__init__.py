"""Office management for managers (their offices) and administrators (all offices).

One service function per state change. Each takes plain values and the acting staff member
(keyword-only ``actor``), checks the role and office scope, changes the data, writes the audit entry in the same unit of
work, and publishes after the commit. Presentation (admin/manage) only calls these.
"""
