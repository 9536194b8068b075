"""SlidingWindow: at most N events per key in any window, counted per key."""

from __future__ import annotations

from townhall.services.throttle import SlidingWindow


def test_the_window_slides_and_keys_are_counted_apart() -> None:
    window = SlidingWindow(limit=2, window_seconds=60)
    assert window.take("1.2.3.4", 0) is None
    assert window.take("1.2.3.4", 10) is None
    assert window.take("1.2.3.4", 20) == 40  # the first event leaves the window at 60
    assert window.take("5.6.7.8", 20) is None
    assert window.take("1.2.3.4", 60) is None  # the event at 0 has left
    assert window.take("1.2.3.4", 61) == 9  # 10 and 60 remain: wait until 70
