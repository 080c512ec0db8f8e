"""Named cases of the three-way reconcile decision table."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from outlook_sync.mapping import event_from_graph, event_to_graph
from outlook_sync.model import Attendee, Event, Person
from outlook_sync.reconcile import (
    Binding,
    ConflictPolicy,
    InMemoryBindingStore,
    Op,
    OdooItem,
    OutlookItem,
    Reconciler,
    Side,
)

from .graph_fakes import as_graph_response

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)
BASE = Event(subject="Weekly", body_html="<p>Agenda</p>", start=T0, end=T0 + timedelta(hours=1),
             time_zone="Europe/Brussels", location="Room 1", odoo_ref="calendar.event,1",
             odoo_url="https://odoo/e/1")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def synced(policy: ConflictPolicy = ConflictPolicy.LATER_WINS) -> Reconciler:
    store = InMemoryBindingStore()
    store.save(Binding(key="b1", odoo_ref="calendar.event,1", graph_id="G1", ical_uid="UID1", change_key="ck1", base=BASE))
    return Reconciler(store, policy)


def odoo(event: Event = BASE, minutes: int = 0, ref: str = "calendar.event,1") -> OdooItem:
    return OdooItem(ref, event, at(minutes))


def outlook(event: Event = BASE, minutes: int = 0, graph_id: str = "G1", change_key: str = "ck1", uid: str = "UID1") -> OutlookItem:
    return OutlookItem(graph_id, event, at(minutes), change_key, uid)


def only(decisions):
    assert len(decisions) == 1
    return decisions[0]


def test_nothing_changed_is_a_noop():
    decision = only(synced().plan([odoo()], [outlook()]))
    assert not decision.has_side_effects and decision.conflicts == () and decision.merged == BASE


def test_change_key_only_change_is_no_change():
    reconciler = synced()
    decision = only(reconciler.plan([], [outlook(change_key="ck2", minutes=30)]))
    assert not decision.has_side_effects
    assert reconciler.commit(decision).change_key == "ck2"


def test_one_side_change_goes_to_the_other_side():
    decision = only(synced().plan([odoo(BASE.replace(subject="Weekly — déplacé"), 5)], []))
    assert (decision.odoo_op, decision.outlook_op) == (Op.NONE, Op.UPDATE)
    assert decision.outlook_fields == {"subject"} and decision.merged.subject == "Weekly — déplacé"
    decision = only(synced().plan([], [outlook(BASE.replace(location="Room 2"), 5)]))
    assert (decision.odoo_op, decision.outlook_op) == (Op.UPDATE, Op.NONE)
    assert decision.odoo_fields == {"location"}


def test_different_fields_changed_on_both_sides_both_survive():
    decision = only(synced().plan([odoo(BASE.replace(subject="New title"), 10)],
                                  [outlook(BASE.replace(location="Room 2"), 20)]))
    assert decision.conflicts == ()
    assert (decision.merged.subject, decision.merged.location) == ("New title", "Room 2")
    assert decision.odoo_fields == {"location"} and decision.outlook_fields == {"subject"}


@pytest.mark.parametrize("policy, odoo_minutes, outlook_minutes, winner", [
    (ConflictPolicy.LATER_WINS, 10, 20, Side.OUTLOOK),
    (ConflictPolicy.LATER_WINS, 20, 10, Side.ODOO),
    (ConflictPolicy.LATER_WINS, 15, 15, Side.ODOO),  # a tie goes to Odoo
    (ConflictPolicy.ODOO_WINS, 10, 20, Side.ODOO),
    (ConflictPolicy.OUTLOOK_WINS, 20, 10, Side.OUTLOOK),
])
def test_same_field_changed_on_both_sides_is_a_recorded_conflict(policy, odoo_minutes, outlook_minutes, winner):
    decision = only(synced(policy).plan([odoo(BASE.replace(subject="Odoo title"), odoo_minutes)],
                                        [outlook(BASE.replace(subject="Outlook title"), outlook_minutes)]))
    (conflict,) = decision.conflicts
    assert conflict.fields == ("subject",) and conflict.winner is winner
    assert (conflict.base, conflict.odoo, conflict.outlook) == (("Weekly",), ("Odoo title",), ("Outlook title",))
    assert decision.merged.subject == ("Odoo title" if winner is Side.ODOO else "Outlook title")


def test_same_change_on_both_sides_is_no_conflict():
    changed = BASE.replace(subject="Same")
    decision = only(synced().plan([odoo(changed, 1)], [outlook(changed, 2)]))
    assert decision.conflicts == () and not decision.has_side_effects


def test_start_end_and_all_day_merge_as_one_group():
    moved = BASE.replace(start=at(60), end=at(120))
    all_day = BASE.replace(all_day=True, start=date(2024, 5, 1), end=date(2024, 5, 1))
    decision = only(synced().plan([odoo(moved, 5)], [outlook(all_day, 9)]))
    (conflict,) = decision.conflicts
    assert conflict.fields == ("all_day", "start", "end") and decision.merged.all_day
    assert decision.odoo_fields == {"all_day", "start", "end"}


def test_equivalent_zone_and_reformatted_body_are_not_edits():
    exchange_html = '<html><body><div class="x_elementToProof"><p>Agenda</p></div></body></html>'
    decision = only(synced().plan([], [outlook(BASE.replace(time_zone="Europe/Paris", body_html=exchange_html), 3)]))
    assert not decision.has_side_effects


def test_outlook_cannot_change_odoo_owned_fields():
    decision = only(synced().plan([], [outlook(BASE.replace(odoo_url="", odoo_ref=""), 3)]))
    assert (decision.odoo_op, decision.outlook_op) == (Op.NONE, Op.UPDATE)
    assert decision.outlook_fields == {"odoo_url", "odoo_ref"} and decision.merged == BASE


def test_our_own_write_does_not_echo_back():
    reconciler = synced()
    decision = only(reconciler.plan([odoo(BASE.replace(subject="Renamed", attendees=(Attendee("Ann@X.org", "Ånn"),)), 5)], []))
    pushed = as_graph_response(event_to_graph(decision.merged), id="G1", changeKey="ck2")
    reconciler.commit(decision, change_key="ck2")
    read_back, warnings = event_from_graph(pushed)  # what the next delta round returns
    assert warnings == []
    echo = only(reconciler.plan([], [outlook(read_back, 6, change_key="ck2")]))
    assert not echo.has_side_effects


# --------------------------------------------------------------------------- deletions and creations

def test_deleted_on_one_side_and_unchanged_on_the_other_is_deleted_there():
    reconciler = synced()
    decision = only(reconciler.plan([], [], outlook_deleted=["G1"]))
    assert (decision.odoo_op, decision.outlook_op, decision.forget) == (Op.DELETE, Op.NONE, True)
    assert reconciler.commit(decision) is None and len(reconciler.store) == 0
    decision = only(synced().plan([], [], odoo_deleted=["calendar.event,1"]))
    assert (decision.odoo_op, decision.outlook_op, decision.forget) == (Op.NONE, Op.DELETE, True)


def test_deleted_on_one_side_but_edited_on_the_other_is_recreated():
    reconciler = synced()
    edited = BASE.replace(subject="Still needed")
    decision = only(reconciler.plan([odoo(edited, 5)], [], outlook_deleted=["G1"]))
    assert (decision.odoo_op, decision.outlook_op) == (Op.NONE, Op.CREATE)
    assert decision.merged == edited and decision.transaction_id
    binding = reconciler.commit(decision, graph_id="G2", change_key="ck9")
    assert (binding.graph_id, binding.odoo_ref, binding.base) == ("G2", "calendar.event,1", edited)

    reconciler = synced()
    decision = only(reconciler.plan([], [outlook(BASE.replace(location="Moved"), 5)], odoo_deleted=["calendar.event,1"]))
    assert (decision.odoo_op, decision.outlook_op) == (Op.CREATE, Op.NONE)
    binding = reconciler.commit(decision, odoo_ref="calendar.event,77")
    assert (binding.odoo_ref, binding.graph_id) == ("calendar.event,77", "G1")


def test_deleted_on_both_sides_forgets_the_binding():
    reconciler = synced()
    decision = only(reconciler.plan([], [], odoo_deleted=["calendar.event,1"], outlook_deleted=["G1"]))
    assert not decision.has_side_effects and decision.forget
    reconciler.commit(decision)
    assert len(reconciler.store) == 0


def test_complete_state_treats_missing_bound_events_as_deleted():
    decision = only(synced().plan([odoo()], [], complete=True))
    assert decision.odoo_op is Op.DELETE


def test_new_events_are_created_on_the_other_side():
    reconciler = Reconciler(InMemoryBindingStore())
    new_odoo = BASE.replace(odoo_ref="calendar.event,5")
    new_outlook = BASE.replace(odoo_ref="", odoo_url="", subject="From Outlook")
    decisions = reconciler.plan([odoo(new_odoo, ref="calendar.event,5")], [outlook(new_outlook, graph_id="G9", uid="U9")])
    by_op = {(d.odoo_op, d.outlook_op): d for d in decisions}
    to_outlook, to_odoo = by_op[(Op.NONE, Op.CREATE)], by_op[(Op.CREATE, Op.NONE)]
    assert to_outlook.merged == new_odoo and to_odoo.merged == new_outlook
    reconciler.commit(to_outlook, graph_id="G10")
    reconciler.commit(to_odoo, odoo_ref="calendar.event,6")
    assert reconciler.store.by_graph_id("G10").odoo_ref == "calendar.event,5"
    assert reconciler.store.by_odoo_ref("calendar.event,6").graph_id == "G9"


def test_failed_create_keeps_its_transaction_id_for_the_retry():
    reconciler = Reconciler(InMemoryBindingStore())
    first = only(reconciler.plan([odoo(ref="calendar.event,1")], []))
    failed = reconciler.fail(first, "timeout")
    assert failed.pending and failed.attempts == 1 and failed.last_error == "timeout"
    assert failed.graph_id is None and failed.base == BASE  # what we tried to create
    retry = only(reconciler.plan([odoo(ref="calendar.event,1")], []))
    assert retry.outlook_op is Op.CREATE and retry.transaction_id == first.transaction_id
    assert reconciler.fail(retry, "timeout again").attempts == 2


def test_failed_update_keeps_the_base_and_is_retried():
    reconciler = synced()
    decision = only(reconciler.plan([odoo(BASE.replace(subject="x"), 5)], []))
    reconciler.fail(decision, "503")
    assert reconciler.store.get("b1").base == BASE
    retry = only(reconciler.plan([odoo(BASE.replace(subject="x"), 5)], []))
    assert retry.outlook_fields == {"subject"}


def test_pending_binding_is_reconsidered_without_reported_changes():
    reconciler = synced()
    reconciler.store.save(replace(reconciler.store.get("b1"), pending="outbox"))
    decision = only(reconciler.plan([], []))
    assert not decision.has_side_effects
    assert not reconciler.commit(decision).pending


# --------------------------------------------------------------------------- relinking

def test_unbound_outlook_event_carrying_our_reference_is_relinked():
    # The create reached Outlook but the reply was lost: the binding has no Graph id.
    store = InMemoryBindingStore()
    store.save(Binding(key="b1", odoo_ref="calendar.event,1", pending="outlook:create", transaction_id="tx"))
    reconciler = Reconciler(store)
    decision = only(reconciler.plan([odoo()], [outlook(graph_id="G7")]))
    assert decision.relinked and decision.key == "b1" and decision.graph_id == "G7"
    assert not decision.has_side_effects
    assert reconciler.commit(decision).graph_id == "G7"


def test_edits_to_an_event_whose_create_reply_was_lost_are_merged_not_conflicted():
    reconciler = Reconciler(InMemoryBindingStore())
    create = only(reconciler.plan([odoo(minutes=1)], []))
    reconciler.fail(create, "reply lost")  # ... but the event exists in Outlook as G7
    decision = only(reconciler.plan([odoo(BASE.replace(location="Room 9"), 9)],
                                    [outlook(BASE.replace(subject="Edited in Outlook"), 5, graph_id="G7")]))
    assert decision.relinked and decision.conflicts == ()
    assert (decision.merged.subject, decision.merged.location) == ("Edited in Outlook", "Room 9")


def test_failed_delete_is_retried():
    reconciler = synced()
    decision = only(reconciler.plan([odoo()], [], outlook_deleted=["G1"]))
    assert decision.odoo_op is Op.DELETE
    assert reconciler.fail(decision, "locked").graph_id == "G1"
    assert only(reconciler.plan([odoo()], [], outlook_deleted=["G1"])).odoo_op is Op.DELETE


def test_unbound_pair_without_any_binding_is_paired_not_duplicated():
    reconciler = Reconciler(InMemoryBindingStore())
    decision = only(reconciler.plan([odoo()], [outlook(graph_id="G7")]))
    assert decision.relinked and not decision.has_side_effects
    assert (decision.odoo_ref, decision.graph_id) == ("calendar.event,1", "G7")


def test_unbound_outlook_event_is_relinked_by_ical_uid_when_its_old_id_is_gone():
    # An event moved to another calendar gets a new id but keeps its iCalUId.
    reconciler = synced()
    moved = BASE.replace(odoo_ref="")
    decision = only(reconciler.plan([], [outlook(moved, 3, graph_id="G8")], outlook_deleted=["G1"]))
    assert decision.relinked and decision.key == "b1" and decision.graph_id == "G8"
    assert decision.outlook_fields == {"odoo_ref"} and decision.odoo_op is Op.NONE


def test_a_copy_of_a_bound_outlook_event_is_a_new_event():
    reconciler = synced()
    copy = only([d for d in reconciler.plan([], [outlook(graph_id="G1"), outlook(graph_id="G2", uid="UID2")])
                 if d.graph_id == "G2"])
    assert copy.odoo_op is Op.CREATE and not copy.relinked


def test_store_refuses_two_bindings_for_one_event():
    store = InMemoryBindingStore()
    store.save(Binding(key="a", odoo_ref="r", graph_id="g"))
    with pytest.raises(ValueError):
        store.save(Binding(key="b", odoo_ref="r"))
    with pytest.raises(ValueError):
        store.save(Binding(key="c", graph_id="g"))
    store.save(Binding(key="a", odoo_ref="r2", graph_id="g"))
    assert store.by_odoo_ref("r") is None and store.by_odoo_ref("r2").key == "a"


def test_outlook_keeps_the_organizer():
    decision = only(synced().plan([odoo(BASE.replace(organizer=Person("someone@else.org")), 5)], []))
    assert (decision.odoo_op, decision.outlook_op) == (Op.UPDATE, Op.NONE)
    assert decision.odoo_fields == {"organizer"} and decision.merged.organizer is None
    decision = only(synced().plan([], [outlook(BASE.replace(organizer=Person("Boss@Corp.com")), 5)]))
    assert decision.odoo_fields == {"organizer"} and decision.merged.organizer.email == "boss@corp.com"


def test_a_prepared_create_keeps_its_transaction_id_and_relinks_the_orphan_by_it():
    # The idempotency key is recorded before the POST; the run dies before the outcome is.
    reconciler = Reconciler(InMemoryBindingStore())
    create = only(reconciler.plan([odoo()], []))
    assert create.outlook_op is Op.CREATE and create.transaction_id
    prepared = reconciler.prepare(create)
    assert (prepared.transaction_id, prepared.graph_id, prepared.base) == (create.transaction_id, None, BASE)
    # the retry carries the same key
    retry = only(reconciler.plan([odoo()], []))
    assert retry.outlook_op is Op.CREATE
    assert (retry.key, retry.transaction_id) == (create.key, create.transaction_id)
    # a pull lists the orphan first: our reference is not on delta pages, its transactionId is
    orphan = OutlookItem("G9", BASE.replace(odoo_ref=""), at(1), "ck9", "UID9", transaction_id=create.transaction_id)
    relink = only(reconciler.plan([odoo()], [orphan]))
    assert relink.relinked and relink.key == create.key and relink.graph_id == "G9"
    assert relink.odoo_op is Op.NONE and relink.outlook_op in (Op.NONE, Op.UPDATE)
    reconciler.commit(relink)
    assert reconciler.store.by_graph_id("G9").transaction_id == "", "a confirmed create needs no key any more"
    # an unrelated event with some other key is new
    other = OutlookItem("G10", BASE.replace(odoo_ref="", subject="Other"), at(2), transaction_id="someone-else")
    assert only(reconciler.plan([], [other])).odoo_op is Op.CREATE


def test_prepare_ignores_everything_but_outlook_creates():
    reconciler = synced()
    decision = only(reconciler.plan([odoo(BASE.replace(subject="New"), 5)], []))
    assert decision.outlook_op is Op.UPDATE and reconciler.prepare(decision) is None
