"""The simulator's displays count seqs as the protocol's client rules do
(docs/realtime-protocol.md, section 5): a coalesced ``queue_updated`` stands for all its seqs, and
events that cross are put in order; only a seq that stays missing is a gap."""

from __future__ import annotations

from queue_service.simulation.actors import Display


def test_a_coalesced_update_stands_for_every_seq_it_names():
    display = Display("aegi-1", "aegi")
    display.take([5])  # before the first snapshot nothing counts
    assert display.seq is None
    display.snapshot(10)
    display.take([11])  # ticket_called, sent at once
    display.take([12, 13, 14])  # queue_updated of one window: seq 14, seqs 12-14
    assert display.seq == 14 and not display.ahead


def test_crossing_events_are_put_in_order_and_a_missing_seq_stays_missing():
    display = Display("aegi-1", "aegi")
    display.snapshot(10)
    display.take([12])  # 11 from the other process is still on its way
    assert display.seq == 10 and display.ahead == {12}
    display.take([11])
    assert display.seq == 12 and not display.ahead
    display.take([15])  # 13 and 14 lost
    assert display.seq == 12 and display.ahead == {15}
    display.snapshot(16)  # the resync's snapshot
    assert display.seq == 16 and not display.ahead


def test_a_heartbeat_ahead_counts_as_a_loss_only_if_the_seq_is_still_missing_a_beat_later():
    display = Display("aegi-1", "aegi")
    display.heard(12)  # before the first snapshot nothing counts
    assert not display.lost_since_last_beat()
    display.snapshot(10)
    display.heard(12)  # 11 and 12 committed, their pushes on their way (a busy server)
    display.take([11])
    display.take([12])
    assert not display.lost_since_last_beat()  # they came within the beat: no resync
    display.heard(12)  # caught up: nothing to check
    assert not display.lost_since_last_beat()
    display.heard(14)  # 13 and 14 committed ...
    display.take([13])
    assert display.lost_since_last_beat()  # ... and 14 never came: resync
    assert not display.lost_since_last_beat()  # once per report
