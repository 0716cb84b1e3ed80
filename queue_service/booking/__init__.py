"""Online appointments: the slot engine, holds and bookings that cannot double-book, managing a
booking, check-in preparation and the jobs the scheduler calls (see docs/booking.md)."""
