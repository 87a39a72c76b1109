from kernel import IdSource


def test_ids_inside_a_handler_derive_from_the_input() -> None:
    a, b = IdSource("strat"), IdSource("strat")
    a.begin("md-7")
    b.begin("md-7")
    assert [a.next(), a.next()] == [b.next(), b.next()]  # a re-run reproduces them
    a.begin("md-8")
    assert a.next() not in {b.next()}


def test_ids_outside_handlers_are_a_per_producer_sequence() -> None:
    ids = IdSource("md")
    assert [ids.next(), ids.next()] == ["md-1", "md-2"]
    ids.begin("x")
    ids.begin(None)
    assert ids.next() == "md-3"


def test_natural_keys() -> None:
    assert IdSource("md").natural("EURUSD", 5) == "md-EURUSD:5"
