"""Three-way, per-field reconciliation of Odoo and Outlook events.

The idea is vdirsyncer's: never compare the two sides with each other, compare
each with the state both last agreed on. Every pair of events is tied by a
:class:`Binding` (the status row: Odoo reference, Graph id, iCalUId, changeKey
and the *base snapshot*). For each field group:

* unchanged on both sides -> nothing to do;
* changed on one side -> that side's value wins;
* changed on both sides to equivalent values -> nothing to decide;
* changed on both sides differently -> a :class:`Conflict`, settled by the
  :class:`ConflictPolicy` (default: the later change wins, Odoo ``write_date``
  against Graph ``lastModifiedDateTime``, a tie goes to Odoo) and recorded.

``start``, ``end`` and ``all_day`` form one group, so a merge can never produce
an event that ends before it starts. ``odoo_ref`` and ``odoo_url`` belong to
Odoo: its value always wins and Outlook edits to them are undone. The
``organizer`` belongs to Outlook once the event exists there (Graph cannot
change it): Odoo edits to it are undone. Owned fields never count as a
person's edit when deciding about deletions.

Because only content is compared, a changeKey-only change (Outlook touches
events when they are opened) is no change, and our own writes read back through
delta equal the new base, so they never echo.

Deletions (the table of :meth:`Reconciler.decide`):

* gone on both sides -> forget the binding;
* gone on one side, unchanged on the other -> delete on the other side;
* gone on one side, edited on the other -> the edit wins: the event is
  created again on the side that deleted it (and the binding relinked);
* present on one side only and never created on the other (no id there, e.g.
  new, or its create failed) -> create it on the other side.

:class:`Decision` objects are plain data. The caller applies them (Outlook
first, then Odoo together with the binding in one database transaction), then
calls :meth:`Reconciler.commit`; on failure :meth:`Reconciler.fail` records the
error and keeps the old base, so the next run decides again from the truth.
Outlook creates carry a ``transaction_id``: the caller records it with
:meth:`Reconciler.prepare` (durably) before the POST leaves, so a retried POST
after a crash or a lost answer carries the same key and never makes a second
event, and an Outlook event that comes back carrying that key, or our
reference, but no binding is relinked instead of duplicated.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import StrEnum
from typing import Protocol

from .model import EVENT_FIELDS, Event, field_equal

#: Fields merged as one unit; every other field is its own group.
FIELD_GROUPS: tuple[tuple[str, ...], ...] = (("all_day", "start", "end"),) + tuple(
    (name,) for name in EVENT_FIELDS if name not in ("all_day", "start", "end")
)
#: Fields Odoo owns: they identify the Odoo record, so Outlook cannot change them.
ODOO_OWNED_FIELDS = frozenset({"odoo_ref", "odoo_url", "odoo_record_url", "odoo_record_name"})
#: Fields Outlook owns once the event exists there: Graph cannot change a meeting's organizer.
OUTLOOK_OWNED_FIELDS = frozenset({"organizer"})
_OWNED_FIELDS = ODOO_OWNED_FIELDS | OUTLOOK_OWNED_FIELDS
#: The calendar owner's own view of an event (Graph's personal properties): an attendee's
#: copy has its own values, which are not the meeting's (Odoo holds one event per meeting).
PERSONAL_FIELDS = frozenset({"categories", "reminder_minutes", "show_as"})
_NEVER = datetime.min.replace(tzinfo=timezone.utc)


class ConflictPolicy(StrEnum):
    """Who wins a field changed differently on both sides."""

    LATER_WINS = "later_wins"
    ODOO_WINS = "odoo_wins"
    OUTLOOK_WINS = "outlook_wins"


class Side(StrEnum):
    """One of the two calendars."""

    ODOO = "odoo"
    OUTLOOK = "outlook"


class Op(StrEnum):
    """What to do to one side."""

    NONE = "none"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    #: The user leaves a meeting they are only invited to: in Outlook their answer is
    #: "declined"; in Odoo their attendee answer is. The meeting stays for everyone else.
    DECLINE = "decline"


@dataclass(frozen=True, slots=True)
class OdooItem:
    """The current Odoo state of one event."""

    ref: str
    event: Event
    modified_at: datetime  # write_date, timezone-aware


@dataclass(frozen=True, slots=True)
class OutlookItem:
    """The current Outlook state of one event."""

    graph_id: str
    event: Event
    modified_at: datetime  # lastModifiedDateTime, timezone-aware
    change_key: str = ""
    ical_uid: str = ""
    transaction_id: str = ""  # Graph's ``transactionId``: set on events a client created with one
    #: The mailbox is only invited (Graph's ``isOrganizer`` false): its copy follows the
    #: organizer's mailbox, and Graph takes no edit of it, only the owner's answer.
    attendee_copy: bool = False


@dataclass(frozen=True, slots=True)
class Binding:
    """The sync status of one Odoo event <-> Outlook event pair.

    ``base`` is the event as both sides last agreed (``None`` before the first
    successful sync). ``pending`` is empty unless the binding must be looked at
    again (an outbox mark, or the summary of a decision that failed);
    ``transaction_id`` is the idempotency key of an Outlook create that may or
    may not have happened.
    """

    key: str
    odoo_ref: str | None = None
    graph_id: str | None = None
    ical_uid: str = ""
    change_key: str = ""
    base: Event | None = None
    pending: str = ""
    transaction_id: str = ""
    attempts: int = 0
    last_error: str = ""
    attendee_copy: bool = False  # see OutlookItem.attendee_copy


@dataclass(frozen=True, slots=True)
class Conflict:
    """A field group changed differently on both sides, and how it was settled."""

    fields: tuple[str, ...]
    base: tuple | None
    odoo: tuple
    outlook: tuple
    winner: Side


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do for one binding; plain data.

    ``merged`` is the event both sides hold once the decision is applied
    (``None`` when the event goes away). ``odoo_fields``/``outlook_fields`` name
    the fields to write on each side for an ``UPDATE``. ``odoo_ref``/``graph_id``
    are the ids the pair has now (``None`` for a side that does not exist yet or
    any more).

    For an attendee's copy (``attendee_copy``) nothing is written to Outlook:
    ``withheld_fields`` are the Odoo edits it cannot take (only the organizer's
    mailbox changes a meeting), and ``agreed`` is the base to record (the copy
    as Outlook holds it), so those edits stay visible as Odoo's own.
    """

    key: str
    previous: Binding | None
    odoo_ref: str | None
    graph_id: str | None
    odoo_op: Op = Op.NONE
    outlook_op: Op = Op.NONE
    merged: Event | None = None
    odoo_fields: frozenset[str] = frozenset()
    outlook_fields: frozenset[str] = frozenset()
    conflicts: tuple[Conflict, ...] = ()
    relinked: bool = False
    forget: bool = False
    ical_uid: str = ""
    change_key: str = ""
    transaction_id: str = ""
    attendee_copy: bool = False
    withheld_fields: frozenset[str] = frozenset()
    agreed: Event | None = None

    @property
    def has_side_effects(self) -> bool:
        """True if either side must be written."""
        return self.odoo_op is not Op.NONE or self.outlook_op is not Op.NONE

    @property
    def summary(self) -> str:
        """Short human-readable form, e.g. ``"odoo:update outlook:none conflicts:1"``."""
        text = f"odoo:{self.odoo_op} outlook:{self.outlook_op}"
        if self.relinked:
            text += " relinked"
        if self.conflicts:
            text += f" conflicts:{len(self.conflicts)}"
        return text


class BindingStore(Protocol):
    """Where bindings live (the addon keeps them in a model; tests in memory)."""

    def get(self, key: str) -> Binding | None: ...
    def by_odoo_ref(self, odoo_ref: str) -> Binding | None: ...
    def by_graph_id(self, graph_id: str) -> Binding | None: ...
    def by_ical_uid(self, ical_uid: str) -> Binding | None: ...
    def by_transaction_id(self, transaction_id: str) -> Binding | None: ...
    def pending(self) -> Iterable[Binding]: ...
    def all(self) -> Iterable[Binding]: ...
    def save(self, binding: Binding) -> None: ...
    def delete(self, key: str) -> None: ...


class InMemoryBindingStore:
    """A :class:`BindingStore` in dicts; refuses two bindings for one event."""

    def __init__(self) -> None:
        self._by_key: dict[str, Binding] = {}
        self._key_by_odoo: dict[str, str] = {}
        self._key_by_graph: dict[str, str] = {}
        self._key_by_ical: dict[str, str] = {}

    def get(self, key: str) -> Binding | None:
        return self._by_key.get(key)

    def by_odoo_ref(self, odoo_ref: str) -> Binding | None:
        return self._by_key.get(self._key_by_odoo.get(odoo_ref, ""))

    def by_graph_id(self, graph_id: str) -> Binding | None:
        return self._by_key.get(self._key_by_graph.get(graph_id, ""))

    def by_ical_uid(self, ical_uid: str) -> Binding | None:
        return self._by_key.get(self._key_by_ical.get(ical_uid, ""))

    def by_transaction_id(self, transaction_id: str) -> Binding | None:
        return next((binding for binding in self._by_key.values()
                     if transaction_id and binding.transaction_id == transaction_id), None)

    def pending(self) -> Iterator[Binding]:
        return (binding for binding in self._by_key.values() if binding.pending)

    def all(self) -> Iterator[Binding]:
        return iter(list(self._by_key.values()))

    def __len__(self) -> int:
        return len(self._by_key)

    def save(self, binding: Binding) -> None:
        for index, value in ((self._key_by_odoo, binding.odoo_ref), (self._key_by_graph, binding.graph_id)):
            if value and index.get(value, binding.key) != binding.key:
                raise ValueError(f"{value!r} is already bound by binding {index[value]!r}")
        self.delete(binding.key)
        self._by_key[binding.key] = binding
        if binding.odoo_ref:
            self._key_by_odoo[binding.odoo_ref] = binding.key
        if binding.graph_id:
            self._key_by_graph[binding.graph_id] = binding.key
        if binding.ical_uid:
            self._key_by_ical[binding.ical_uid] = binding.key

    def delete(self, key: str) -> None:
        old = self._by_key.pop(key, None)
        if old is None:
            return
        for index, value in ((self._key_by_odoo, old.odoo_ref), (self._key_by_graph, old.graph_id),
                             (self._key_by_ical, old.ical_uid)):
            if value and index.get(value) == key:
                del index[value]


_UNCHANGED = object()  # a bound side that was not reported: it still equals the base


class Reconciler:
    """Plans decisions for changed events and records their outcome in a :class:`BindingStore`.

    >>> store = InMemoryBindingStore()
    >>> reconciler = Reconciler(store)
    >>> decisions = reconciler.plan(odoo_items=[...], outlook_items=[...])  # doctest: +SKIP
    """

    def __init__(self, store: BindingStore, policy: ConflictPolicy = ConflictPolicy.LATER_WINS) -> None:
        self.store = store
        self.policy = ConflictPolicy(policy)

    # ------------------------------------------------------------------ planning

    def plan(
        self,
        odoo_items: Iterable[OdooItem] = (),
        outlook_items: Iterable[OutlookItem] = (),
        *,
        odoo_deleted: Iterable[str] = (),
        outlook_deleted: Iterable[str] = (),
        complete: bool = False,
        outlook_left: Iterable[str] = (),
        joins: Mapping[str, tuple[str, Event]] | None = None,
    ) -> list[Decision]:
        """Decide what to do about the reported changes.

        ``odoo_items``/``outlook_items`` are events that are new or may have
        changed; ``odoo_deleted``/``outlook_deleted`` are refs/ids that are gone.
        A bound event that is not reported is taken to equal its base. With
        ``complete=True`` the items are each side's whole state, so every bound
        event not listed counts as deleted (a full resync).

        Unbound Outlook events are matched to bindings by our Odoo reference,
        then by iCalUId (a *relink*), before being treated as new. Bindings
        marked pending are always reconsidered.

        ``outlook_left`` are attendee copies gone from the mailbox without the
        meeting being cancelled (the user declined or removed it): the user
        leaves the meeting in Odoo, which keeps it for the others.
        ``joins`` maps Outlook items of a meeting that Odoo holds already (the
        same meeting in another connected mailbox, found by the caller by
        iCalUId) to ``(odoo ref, base)``: the item joins that Odoo event, with
        ``base`` (the meeting as last agreed through the other mailbox) as the
        common ancestor, so it neither creates a second event nor sends Odoo's
        version back as an edit.
        """
        joins = joins or {}
        odoo = {item.ref: item for item in odoo_items}
        outlook = {item.graph_id: item for item in outlook_items}
        left = set(outlook_left)
        odoo_gone, outlook_gone = set(odoo_deleted), set(outlook_deleted) | left
        if complete:
            for binding in self.store.all():
                if binding.odoo_ref and binding.odoo_ref not in odoo:
                    odoo_gone.add(binding.odoo_ref)
                if binding.graph_id and binding.graph_id not in outlook:
                    outlook_gone.add(binding.graph_id)

        work: dict[str, Binding] = {}
        relinked: set[str] = set()
        paired_odoo_refs: set[str] = set()

        def dead(graph_id: str | None) -> bool:
            return graph_id is None or graph_id in outlook_gone

        for graph_id, item in outlook.items():
            bound = self.store.by_graph_id(graph_id)
            if bound is not None:
                work.setdefault(bound.key, bound)
                continue
            if graph_id in joins:
                ref, join_base = joins[graph_id]
                waiting = self.store.by_odoo_ref(ref)  # an outbox row of this account for that event
                key = waiting.key if waiting is not None and dead(waiting.graph_id) else _new_key()
                work[key] = Binding(key=key, odoo_ref=ref, graph_id=graph_id, ical_uid=item.ical_uid,
                                    base=join_base, attendee_copy=item.attendee_copy)
                relinked.add(key)
                paired_odoo_refs.add(ref)
                continue
            match = self._match(item)
            if match is not None:
                match = work.get(match.key, match)
            if match is not None and dead(match.graph_id):
                work[match.key] = replace(match, graph_id=graph_id, ical_uid=item.ical_uid or match.ical_uid)
                relinked.add(match.key)
                continue
            ref = item.event.odoo_ref
            if ref in odoo and ref not in paired_odoo_refs and self.store.by_odoo_ref(ref) is None:
                # Our create reached Outlook but its binding was never saved.
                key = _new_key()
                work[key] = Binding(key=key, odoo_ref=ref, graph_id=graph_id, ical_uid=item.ical_uid)
                relinked.add(key)
                paired_odoo_refs.add(ref)
                continue
            key = _new_key()
            work[key] = Binding(key=key, graph_id=graph_id, ical_uid=item.ical_uid)

        for ref in odoo:
            bound = self.store.by_odoo_ref(ref)
            if bound is not None:
                work.setdefault(bound.key, bound)
            elif ref not in paired_odoo_refs:
                key = _new_key()
                work[key] = Binding(key=key, odoo_ref=ref)

        for binding in (*(self.store.by_odoo_ref(ref) for ref in odoo_gone),
                        *(self.store.by_graph_id(graph_id) for graph_id in outlook_gone),
                        *self.store.pending()):
            if binding is not None:
                work.setdefault(binding.key, binding)

        decisions = []
        for key, binding in work.items():
            odoo_side = _side(binding.odoo_ref, odoo, odoo_gone)
            outlook_side = _side(binding.graph_id, outlook, outlook_gone)
            decisions.append(self.decide(self.store.get(key), binding, odoo_side, outlook_side,
                                         relinked=key in relinked, left=binding.graph_id in left))
        return decisions

    def _match(self, item: OutlookItem) -> Binding | None:
        if item.event.odoo_ref:
            binding = self.store.by_odoo_ref(item.event.odoo_ref)
            if binding is not None:
                return binding
        if item.transaction_id:
            # Our create whose answer never came back (crash, timeout): delta pages do not
            # carry our reference (no $expand on delta) but they do carry transactionId.
            binding = self.store.by_transaction_id(item.transaction_id)
            if binding is not None and binding.graph_id is None:
                return binding
        if item.ical_uid:
            return self.store.by_ical_uid(item.ical_uid)
        return None

    def decide(
        self,
        previous: Binding | None,
        binding: Binding,
        odoo: OdooItem | None | object,
        outlook: OutlookItem | None | object,
        *,
        relinked: bool = False,
        left: bool = False,
    ) -> Decision:
        """The decision for one pair; ``None`` = that side is absent or deleted.

        ``previous`` is the binding as stored (``None`` if new); ``binding``
        the pairing to decide for (it differs from ``previous`` on a relink).
        ``left``: the Outlook side is an attendee copy the user removed (see :meth:`plan`).
        """
        base = binding.base
        if odoo is _UNCHANGED:
            odoo = OdooItem(binding.odoo_ref or "", base, _NEVER) if base is not None else _UNCHANGED
        if outlook is _UNCHANGED:
            outlook = OutlookItem(binding.graph_id or "", base, _NEVER, binding.change_key, binding.ical_uid) \
                if base is not None else _UNCHANGED
        attendee_copy = binding.attendee_copy or (isinstance(outlook, OutlookItem) and outlook.attendee_copy)
        common = dict(key=binding.key, previous=previous, relinked=relinked,
                      odoo_ref=binding.odoo_ref, graph_id=binding.graph_id, ical_uid=binding.ical_uid,
                      change_key=binding.change_key, attendee_copy=attendee_copy)
        if odoo is _UNCHANGED or outlook is _UNCHANGED:
            # A side we were not told about and have no base for: wait until it is reported.
            return Decision(**common)
        assert odoo is None or isinstance(odoo, OdooItem)
        assert outlook is None or isinstance(outlook, OutlookItem)
        if outlook is not None:
            common.update(graph_id=outlook.graph_id, ical_uid=outlook.ical_uid or binding.ical_uid,
                          change_key=outlook.change_key or binding.change_key)
        if odoo is not None:
            common.update(odoo_ref=odoo.ref)

        if odoo is None and outlook is None:
            return Decision(**common, forget=True)
        if attendee_copy:
            return self._decide_attendee_copy(common, binding, odoo, outlook, left)
        # A side with no id was never created (or its create failed): create it.
        # A side whose id is gone was deleted: delete the other one, unless it was edited.
        if outlook is None:
            assert isinstance(odoo, OdooItem)
            if binding.graph_id is not None and base is not None and not _edited(odoo.event, base):
                return Decision(**common, odoo_op=Op.DELETE, forget=True)
            common.update(graph_id=None, change_key="")
            transaction_id = binding.transaction_id or uuid.uuid4().hex
            return Decision(**common, outlook_op=Op.CREATE, merged=odoo.event,
                            outlook_fields=frozenset(EVENT_FIELDS), transaction_id=transaction_id)
        if odoo is None:
            if binding.odoo_ref is not None and base is not None and not _edited(outlook.event, base):
                return Decision(**common, outlook_op=Op.DELETE, forget=True)
            common.update(odoo_ref=None)
            return Decision(**common, odoo_op=Op.CREATE, merged=outlook.event, odoo_fields=frozenset(EVENT_FIELDS))

        merged, conflicts = self._merge(base, odoo, outlook)
        odoo_fields = differing_fields(merged, odoo.event)
        outlook_fields = differing_fields(merged, outlook.event)
        return Decision(
            **common,
            odoo_op=Op.UPDATE if odoo_fields else Op.NONE,
            outlook_op=Op.UPDATE if outlook_fields else Op.NONE,
            merged=merged,
            odoo_fields=odoo_fields,
            outlook_fields=outlook_fields,
            conflicts=tuple(conflicts),
        )

    def _decide_attendee_copy(self, common: dict, binding: Binding, odoo: OdooItem | None,
                              outlook: OutlookItem | None, left: bool) -> Decision:
        """A meeting the mailbox is only invited to: the organizer's mailbox is its truth.

        Nothing is written to the copy: Graph takes only the owner's answer. The
        user removing it on one side leaves the meeting on the other (a decline),
        never cancels it; a cancelled meeting goes from Odoo like a deletion. The
        organizer's changes reach Odoo; Odoo's edits are withheld (and reported);
        the copy's personal fields (its owner's categories, reminder, show-as) and
        its stale view of the other attendees' answers never change Odoo's event.
        """
        base = binding.base
        if odoo is None and binding.odoo_ref is None:
            common.update(odoo_ref=None)  # an invitation Odoo does not hold yet
            return Decision(**common, odoo_op=Op.CREATE, merged=outlook.event, odoo_fields=frozenset(EVENT_FIELDS))
        if odoo is None:
            return Decision(**common, outlook_op=Op.DECLINE, forget=True)
        if outlook is None:
            if left:
                return Decision(**common, odoo_op=Op.DECLINE, forget=True)
            if base is not None and not _edited(odoo.event, base, ignore=PERSONAL_FIELDS):
                return Decision(**common, odoo_op=Op.DELETE, forget=True)
            return Decision(**common, forget=True)  # cancelled, but edited in Odoo: Odoo keeps it
        copy = _with_answers_of(outlook.event, odoo.event)
        base = _with_answers_of(base, odoo.event) if base is not None else None
        values = {}
        for group in FIELD_GROUPS:
            from_outlook = bool(OUTLOOK_OWNED_FIELDS.intersection(group)) or (
                not ODOO_OWNED_FIELDS.intersection(group) and not PERSONAL_FIELDS.intersection(group)
                and (base is None or not _group_equal(group, copy, base)))
            for name in group:
                values[name] = getattr(copy if from_outlook else odoo.event, name)
        merged = Event(**values)
        withheld = frozenset(
            name for group in FIELD_GROUPS
            if not _OWNED_FIELDS.intersection(group) and not PERSONAL_FIELDS.intersection(group)
            and not _group_equal(group, merged, copy) for name in group)
        odoo_fields = differing_fields(merged, odoo.event)
        agreed = copy.replace(**{name: getattr(odoo.event, name) for name in ODOO_OWNED_FIELDS})
        return Decision(**common, odoo_op=Op.UPDATE if odoo_fields else Op.NONE, merged=merged,
                        odoo_fields=odoo_fields, withheld_fields=withheld, agreed=agreed)

    def _merge(self, base: Event | None, odoo: OdooItem, outlook: OutlookItem) -> tuple[Event, list[Conflict]]:
        if base is not None and odoo.event == base and outlook.event == base:
            return base, []  # the common case, without field-by-field work
        values = {}
        conflicts = []
        for group in FIELD_GROUPS:
            if ODOO_OWNED_FIELDS.intersection(group):
                chosen = odoo.event
            elif OUTLOOK_OWNED_FIELDS.intersection(group):
                chosen = outlook.event
            else:
                odoo_changed = base is None or not _group_equal(group, odoo.event, base)
                outlook_changed = base is None or not _group_equal(group, outlook.event, base)
                chosen = odoo.event
                if outlook_changed and not odoo_changed:
                    chosen = outlook.event
                elif odoo_changed and outlook_changed and not _group_equal(group, odoo.event, outlook.event):
                    winner = self._winner(odoo, outlook)
                    chosen = odoo.event if winner is Side.ODOO else outlook.event
                    conflicts.append(Conflict(
                        fields=group,
                        base=None if base is None else _group_values(group, base),
                        odoo=_group_values(group, odoo.event),
                        outlook=_group_values(group, outlook.event),
                        winner=winner,
                    ))
            for name in group:
                values[name] = getattr(chosen, name)
        return Event(**values), conflicts

    def _winner(self, odoo: OdooItem, outlook: OutlookItem) -> Side:
        if self.policy is ConflictPolicy.ODOO_WINS:
            return Side.ODOO
        if self.policy is ConflictPolicy.OUTLOOK_WINS:
            return Side.OUTLOOK
        return Side.OUTLOOK if outlook.modified_at > odoo.modified_at else Side.ODOO

    # ------------------------------------------------------------------ outcome

    def commit(
        self,
        decision: Decision,
        *,
        odoo_ref: str | None = None,
        graph_id: str | None = None,
        change_key: str | None = None,
        ical_uid: str | None = None,
    ) -> Binding | None:
        """Record that ``decision`` was applied; returns the stored binding (``None`` if forgotten).

        Pass the ids of records the decision created (and the iCalUId Graph gave
        the event it created) and the changeKey Graph returned for a write.
        """
        if decision.forget:
            self.store.delete(decision.key)
            return None
        binding = Binding(
            key=decision.key,
            odoo_ref=odoo_ref or decision.odoo_ref,
            graph_id=graph_id or decision.graph_id,
            ical_uid=ical_uid or decision.ical_uid,
            change_key=change_key or decision.change_key,
            base=decision.agreed or decision.merged or (decision.previous.base if decision.previous else None),
            attendee_copy=decision.attendee_copy,
        )
        self.store.save(binding)
        return binding

    def prepare(self, decision: Decision) -> Binding | None:
        """Record the idempotency key of an Outlook create before the request is sent.

        The caller must make this durable (commit) before the POST leaves: if
        the run dies after Outlook created the event and before the outcome was
        recorded, the next run retries with the same ``transactionId`` (Graph
        does not create a second event) and relinks the event by it when a
        pull lists it first. Like :meth:`fail`, the base is the event being
        created, so the relinked event is compared with what was sent. Returns
        ``None`` (nothing recorded) for anything but an Outlook create.
        """
        if decision.outlook_op is not Op.CREATE or not decision.transaction_id:
            return None
        previous = decision.previous
        binding = Binding(
            key=decision.key,
            odoo_ref=decision.odoo_ref,
            graph_id=None,
            ical_uid=decision.ical_uid,
            change_key="",
            base=decision.merged,
            pending=decision.summary,
            transaction_id=decision.transaction_id,
            attempts=previous.attempts if previous else 0,
            last_error=previous.last_error if previous else "",
        )
        self.store.save(binding)
        return binding

    def fail(self, decision: Decision, error: str) -> Binding:
        """Record that applying ``decision`` failed and mark the binding pending.

        The next run then sees the same situation and decides again:

        * an update keeps the old base;
        * a delete keeps the old ids (the caller must report the gone side as
          deleted again, e.g. after a 404);
        * a create stores the event it tried to create as the base and keeps its
          ``transaction_id``: if the create did reach Outlook (a lost response),
          the event is relinked by our reference and compared with what we sent,
          so edits made to it meanwhile are not mistaken for conflicts.
        """
        previous = decision.previous
        creating = Op.CREATE in (decision.odoo_op, decision.outlook_op)
        binding = Binding(
            key=decision.key,
            odoo_ref=previous.odoo_ref if decision.forget and previous else decision.odoo_ref,
            graph_id=previous.graph_id if decision.forget and previous else decision.graph_id,
            ical_uid=decision.ical_uid,
            change_key=decision.change_key,
            base=decision.merged if creating else (previous.base if previous else None),
            pending=decision.summary,
            transaction_id=decision.transaction_id or (previous.transaction_id if previous else ""),
            attempts=(previous.attempts if previous else 0) + 1,
            last_error=error,
            attendee_copy=decision.attendee_copy,
        )
        self.store.save(binding)
        return binding


def _side(ident: str | None, reported: dict, gone: set[str]) -> object:
    if ident is None or ident in gone:
        return None
    return reported.get(ident, _UNCHANGED)


def _group_equal(group: tuple[str, ...], first: Event, second: Event) -> bool:
    return all(field_equal(name, getattr(first, name), getattr(second, name)) for name in group)


def _with_answers_of(event: Event, odoo: Event) -> Event:
    """``event`` (an attendee's copy) with Odoo's answers of the attendees both know: a copy does not
    learn the others' answers (Outlook tallies them in the organizer's copy only)."""
    answers = {attendee.email: attendee.response for attendee in odoo.attendees}
    return event.replace(attendees=tuple(
        replace(attendee, response=answers[attendee.email]) if attendee.email in answers else attendee
        for attendee in event.attendees))


def _group_values(group: tuple[str, ...], event: Event) -> tuple:
    return tuple(getattr(event, name) for name in group)


def _edited(event: Event, base: Event, ignore: frozenset[str] = frozenset()) -> bool:
    """Whether a person changed ``event`` since ``base`` (``ignore``: fields that do not count).

    Owned fields do not count: Odoo stamps its reference on a new record
    itself, and neither side can really change the other's fields.
    """
    return any(
        not _group_equal(group, event, base)
        for group in FIELD_GROUPS
        if not (_OWNED_FIELDS | ignore).intersection(group)
    )


def differing_fields(merged: Event, current: Event) -> frozenset[str]:
    """The fields (whole groups, as they are written) in which ``current`` is not ``merged``."""
    if merged == current:
        return frozenset()
    names: set[str] = set()
    for group in FIELD_GROUPS:
        if not _group_equal(group, merged, current):
            names.update(group)
    return frozenset(names)


def _new_key() -> str:
    return uuid.uuid4().hex
