"""Whose changes may make an organizer's mailbox send e-mail (outlook_sync.consent)."""

import pytest

from outlook_sync.consent import OthersChanges, hold_reason, outside_addresses


def test_outside_addresses_ignore_case_blanks_and_repeats():
    assert outside_addresses(["Bob@Contoso.com", "x@partner.example", "X@partner.example ", "", None],
                             ["bob@contoso.com", "alice@contoso.com"]) == ["x@partner.example"]


@pytest.mark.parametrize("policy, by_organizer, outside, expected", [
    (OthersChanges.NO_OUTSIDE_MAIL, False, ["x@partner.example"], "mails_outside"),
    (OthersChanges.NO_OUTSIDE_MAIL, False, [], None),
    (OthersChanges.NO_OUTSIDE_MAIL, True, ["x@partner.example"], None),
    (OthersChanges.ORGANIZER_ONLY, False, [], "changed_by_other"),
    (OthersChanges.ORGANIZER_ONLY, True, ["x@partner.example"], None),
    (OthersChanges.EVERYONE, False, ["x@partner.example"], None),
])
def test_hold_reason(policy, by_organizer, outside, expected):
    assert hold_reason(policy, by_organizer=by_organizer, outside=outside) == expected
