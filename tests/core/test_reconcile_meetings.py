"""Meetings in the reconcile table: attendee copies, and one meeting seen from several mailboxes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from outlook_sync.model import Attendee, Event, Person, Response
from outlook_sync.reconcile import Binding, InMemoryBindingStore, OdooItem, Op, OutlookItem, Reconciler

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)
ORGANIZER = Person("alice@contoso.com", "Alice")
MEETING = Event(subject="Review", start=T0, end=T0 + timedelta(hours=1), organizer=ORGANIZER,
                attendees=(Attendee("bob@contoso.com", response=Response.ACCEPTED),
                           Attendee("x@fabrikam.com", response=Response.DECLINED)),
                categories=("Blue",), reminder_minutes=30)
#: Bob's copy: his own reminder and no categories; the others' answers as delivered (not tallied).
COPY = MEETING.replace(categories=(), reminder_minutes=15,
                       attendees=(Attendee("bob@contoso.com"), Attendee("x@fabrikam.com")))
REF = "db:calendar.event:7"


def bob_store(base: Event = COPY) -> Reconciler:
    store = InMemoryBindingStore()
    store.save(Binding(key="bob", odoo_ref=REF, graph_id="B1", ical_uid="UID", change_key="ck1", base=base,
                       attendee_copy=True))
    return Reconciler(store)


def odoo(event: Event = MEETING, minutes: int = 0) -> OdooItem:
    return OdooItem(REF, event, T0 + timedelta(minutes=minutes))


def copy(event: Event = COPY, minutes: int = 0, graph_id: str = "B1") -> OutlookItem:
    return OutlookItem(graph_id, event, T0 + timedelta(minutes=minutes), "ck2", "UID", attendee_copy=True)


def only(decisions):
    assert len(decisions) == 1
    return decisions[0]


def test_the_copys_personal_fields_and_stale_answers_are_no_change():
    decision = only(bob_store().plan([odoo()], [copy()]))
    assert not decision.has_side_effects
    assert decision.withheld_fields == frozenset()


def test_an_organizer_change_reaches_odoo_and_nothing_is_written_to_the_copy():
    moved = COPY.replace(location="Room 2")
    decision = only(bob_store().plan([odoo()], [copy(moved, minutes=5)]))
    assert decision.outlook_op is Op.NONE
    assert decision.odoo_op is Op.UPDATE and decision.odoo_fields == {"location"}
    assert decision.merged.location == "Room 2"
    assert decision.merged.categories == ("Blue",) and decision.merged.reminder_minutes == 30  # Odoo's own
    assert decision.merged.attendees == MEETING.attendees  # the tallied answers stay


def test_an_odoo_edit_is_withheld_and_stays_odoos_even_when_the_copy_changes_again():
    reconciler = bob_store()
    edited = MEETING.replace(subject="Review (moved)")
    decision = only(reconciler.plan([odoo(edited, minutes=10)], [copy(COPY.replace(location="Room 2"))]))
    assert decision.outlook_op is Op.NONE
    assert decision.withheld_fields == {"subject"}
    assert decision.merged.subject == "Review (moved)" and decision.merged.location == "Room 2"
    reconciler.commit(decision)
    # the base is the copy as Outlook holds it: Odoo's edit is still Odoo's own next time
    assert reconciler.store.get("bob").base.subject == "Review"
    again = only(reconciler.plan([odoo(decision.merged, minutes=20)], []))
    assert again.withheld_fields == {"subject"} and not again.has_side_effects


def test_the_organizer_wins_a_field_both_changed():
    decision = only(bob_store().plan([odoo(MEETING.replace(subject="Odoo's"), minutes=30)],
                                     [copy(COPY.replace(subject="Organizer's"), minutes=1)]))
    assert decision.merged.subject == "Organizer's" and decision.withheld_fields == frozenset()
    assert decision.outlook_op is Op.NONE


def test_removing_the_meeting_in_odoo_declines_it_and_never_deletes_the_copy():
    decision = only(bob_store().plan(odoo_deleted=[REF]))
    assert decision.outlook_op is Op.DECLINE and decision.forget


def test_a_copy_the_user_removed_in_outlook_leaves_the_meeting_in_odoo():
    decision = only(bob_store().plan(outlook_left=["B1"]))
    assert decision.odoo_op is Op.DECLINE and decision.outlook_op is Op.NONE and decision.forget


def test_a_cancelled_meeting_leaves_odoo_unless_odoo_edited_it():
    assert only(bob_store().plan(outlook_deleted=["B1"])).odoo_op is Op.DELETE
    kept = only(bob_store().plan([odoo(MEETING.replace(subject="Mine"))], outlook_deleted=["B1"]))
    assert kept.odoo_op is Op.NONE and kept.forget


def test_a_new_invitation_is_created_in_odoo_only():
    decision = only(Reconciler(InMemoryBindingStore()).plan([], [copy(graph_id="NEW")]))
    assert decision.odoo_op is Op.CREATE and decision.outlook_op is Op.NONE and decision.attendee_copy


def test_a_copy_joins_the_odoo_event_of_its_meeting_without_a_second_event_or_any_write():
    store = InMemoryBindingStore()
    decision = only(Reconciler(store).plan([odoo()], [copy(graph_id="B9")], joins={"B9": (REF, MEETING)}))
    assert decision.odoo_ref == REF and decision.graph_id == "B9" and decision.relinked
    assert not decision.has_side_effects
    Reconciler(store).commit(decision)
    assert store.by_graph_id("B9").odoo_ref == REF and store.by_graph_id("B9").attendee_copy


def test_an_organizer_copy_joining_takes_outlooks_version_and_sends_only_odoos_real_edits():
    organizer_copy = MEETING.replace(location="Room 3", reminder_minutes=10)
    item = OutlookItem("A1", organizer_copy, T0, "ck", "UID")
    # agreed through Bob's mailbox: Odoo since changed the subject, Outlook the location
    edited = MEETING.replace(subject="Review v2")
    decision = only(Reconciler(InMemoryBindingStore()).plan([odoo(edited)], [item], joins={"A1": (REF, MEETING)}))
    assert decision.odoo_op is Op.UPDATE and decision.odoo_fields == {"location", "reminder_minutes"}
    assert decision.outlook_op is Op.UPDATE and decision.outlook_fields == {"subject"}


def test_a_join_reuses_the_accounts_waiting_outbox_row():
    store = InMemoryBindingStore()
    store.save(Binding(key="waiting", odoo_ref=REF, base=MEETING, pending="outbox"))
    item = OutlookItem("A1", MEETING, T0, "ck", "UID")
    decision = only(Reconciler(store).plan([odoo()], [item], joins={"A1": (REF, MEETING)}))
    assert decision.key == "waiting" and decision.graph_id == "A1" and not decision.has_side_effects
