from kernel import LiveClock, SimClock


def test_handlers_read_event_time_not_the_wall() -> None:
    clock = LiveClock()
    clock.set_event_time(42)
    assert clock.now_ns() == 42
    clock.set_event_time(None)
    assert clock.now_ns() > 42


def test_sim_clock_only_moves_when_told_and_fires_timers_in_order() -> None:
    fired: list[tuple[str, int]] = []
    clock = SimClock(100)
    clock.on_due(lambda name, at: fired.append((name, at)))
    clock.set_timer("b", 300)
    clock.set_timer("a", 200)
    assert clock.next_timer_ns() == 200
    clock.advance_to(250)
    assert fired == [("a", 200)] and clock.now_ns() == 250
    clock.advance_to(10)  # never backwards
    assert clock.now_ns() == 250
    clock.advance_to(300)
    assert fired == [("a", 200), ("b", 300)]


def test_replay_clock_does_not_fire_timers() -> None:
    fired: list[str] = []
    clock = SimClock(fire_timers=False)
    clock.on_due(lambda name, at: fired.append(name))
    clock.set_timer("t", 5)
    clock.advance_to(10)
    assert fired == []


def test_cancel_timer() -> None:
    fired: list[str] = []
    clock = SimClock()
    clock.on_due(lambda name, at: fired.append(name))
    clock.set_timer("t", 5)
    clock.cancel_timer("t")
    clock.advance_to(10)
    assert fired == [] and clock.next_timer_ns() is None
