"""etcd's quorum arithmetic and the refusals an HA control plane makes with it."""
import pytest

from kubefab import quorum


@pytest.mark.parametrize("members, need, spare", [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1), (5, 3, 2)])
def test_a_majority_must_stay(members, need, spare):
    assert (quorum.quorum(members), quorum.tolerates(members)) == (need, spare)


@pytest.mark.parametrize("kw, refused", [
    (dict(members=3, healthy=3, down=1), False),  # restarting one of three
    (dict(members=3, healthy=2, down=1), True),  # one already down: restarting another stops writes
    (dict(members=3, healthy=3, leaving=1), False),  # 3 -> 2: both up
    (dict(members=2, healthy=2, leaving=1), False),  # 2 -> 1
    (dict(members=3, healthy=2, leaving=1), True),  # removing a healthy one while another is down
    (dict(members=1, healthy=1, joining=1), True),  # 1 -> 2 before the new one is up: 1 of 2 is no majority
    (dict(members=3, healthy=3, joining=1), False),  # 3 -> 4: 3 of 4 up
    (dict(members=1, healthy=1, down=1), True),  # the only member restarting: no writes meanwhile
])
def test_a_step_that_would_lose_quorum_is_refused_in_one_line(kw, refused):
    why = quorum.refusal(**kw, what="restart azure-prd-02's etcd")
    assert (why is not None) is refused
    if refused:
        assert why.startswith("restart azure-prd-02's etcd: etcd would lose quorum") and "\n" not in why
