# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""calendar.event <-> core Event, and full round trips through the sandbox's
Graph (POST /me/events, GET it back, map it into Odoo values again)."""

import copy
import uuid
from datetime import date, datetime, timezone
from urllib.parse import quote

import requests
from outlook_sandbox import SandboxServer
from outlook_sandbox.seed import load_seed_data
from outlook_sync.body import body_fingerprint
from outlook_sync.mapping import MEETING_URL_PROPERTY_ID, ODOO_REF_PROPERTY_ID, event_from_graph, event_to_graph
from outlook_sync.model import EVENT_FIELDS, Attendee, AttendeeType, Event, Person, Response, Sensitivity, ShowAs, field_equal
from outlook_sync.timezones import same_zone

from odoo.fields import Command
from odoo.tests import TransactionCase, new_test_user, tagged

from ..utils.event_mapping import (
    QUIET_CONTEXT,
    SYNCED_FIELDS,
    core_to_odoo_values,
    odoo_event_to_core,
    odoo_ref,
    parse_odoo_ref,
    write_odoo_values,
)

MAILBOX = "alice@contoso.com"
EXPAND = "singleValueExtendedProperties($filter=id eq '{}' or id eq '{}')".format(
    ODOO_REF_PROPERTY_ID, MEETING_URL_PROPERTY_ID)
# What an Odoo user sees of an event; compared after a round trip.
COMPARED = ("name", "description", "start", "stop", "allday", "start_date", "stop_date", "location",
            "videocall_location", "privacy", "show_as", "alarm_ids", "categ_ids", "user_id", "partner_ids")


class GraphCaller:
    """Graph calls as alice (``verify`` per call: requests lets REQUESTS_CA_BUNDLE
    override a session-level ``verify``)."""

    def __init__(self, sandbox, token):
        self.sandbox = sandbox
        self.http = requests.Session()
        self.http.headers["Authorization"] = "Bearer " + token

    def __getattr__(self, method):
        def call(url, **kwargs):
            return self.http.request(method.upper(), url, verify=self.sandbox.ca_path, **kwargs)
        return call


@tagged("post_install", "-at_install")
class TestEventMapping(TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = SandboxServer().start()
        cls.addClassCleanup(cls.sandbox.stop)
        load_seed_data(cls.sandbox.world, copy.deepcopy({
            "tenants": [{"domain": "contoso.com", "id": str(uuid.uuid4()), "display_name": "Contoso"}],
            "mailboxes": [{"address": MAILBOX, "display_name": "Alice Martin"}],
        }))
        minted = requests.post(cls.sandbox.base_url + "/_sandbox/tokens", json={"mailbox": MAILBOX},
                               verify=cls.sandbox.ca_path, timeout=10)
        minted.raise_for_status()
        cls.graph = GraphCaller(cls.sandbox, minted.json()["access_token"])
        cls.env = cls.env(context=dict(cls.env.context, **QUIET_CONTEXT, tracking_disable=True))
        cls.alice = new_test_user(cls.env, "alice_map", email="Alice@Contoso.com", name="Alice Martin",
                                  tz="Europe/Brussels", groups="base.group_user")
        cls.bob = cls.env["res.partner"].create({"name": "Bob Stone", "email": "bob@contoso.com"})
        cls.zoe = cls.env["res.partner"].create({"name": "Zoë Ñúñez", "email": "zoe@example.org"})
        cls.Event = cls.env["calendar.event"].with_user(cls.alice)

    # -- helpers ----------------------------------------------------------------

    def make(self, model=None, **values):
        values = {"name": "Meeting", "start": datetime(2026, 6, 3, 7, 30), "stop": datetime(2026, 6, 3, 9), **values}
        return (model or self.Event).create(values)

    def event_url(self, graph_id):
        return self.sandbox.graph_url + "/me/events/" + quote(graph_id, safe="")

    def through_outlook(self, event):
        """Odoo -> core -> Graph JSON -> sandbox -> Graph JSON -> core."""
        core = odoo_event_to_core(event)
        posted = self.graph.post(self.sandbox.graph_url + "/me/events",
                                 json=event_to_graph(core, transaction_id=str(uuid.uuid4())), timeout=10)
        self.assertEqual(posted.status_code, 201, posted.text)
        fetched = self.graph.get(self.event_url(posted.json()["id"]),
                                 params={"$expand": EXPAND}, timeout=10)
        self.assertEqual(fetched.status_code, 200, fetched.text)
        back, warnings = event_from_graph(fetched.json())
        self.assertEqual(warnings, [])
        return core, back, fetched.json()

    def assert_round_trip(self, event):
        """The event read back from Outlook gives the same Odoo values, and
        creating an event from them gives an identical event."""
        core, back, payload = self.through_outlook(event)
        for name in EVENT_FIELDS:
            if name != "odoo_url":  # Odoo-owned; the base URL differs per test server
                self.assertTrue(field_equal(name, getattr(back, name), getattr(core, name)),
                                f"{name}: {getattr(back, name)!r} != {getattr(core, name)!r}")
        copy_ = self.Event.create(core_to_odoo_values(self.env, back, user=self.alice))
        for name in COMPARED:
            self.assertEqual(copy_[name], event[name], name)
        self.assertEqual({(a.partner_id, a.state) for a in copy_.attendee_ids},
                         {(a.partner_id, a.state) for a in event.attendee_ids})
        # The links identify the Odoo records: Odoo-owned, never written from Outlook.
        odoo_owned = {"odoo_url": "", "odoo_ref": "", "odoo_record_url": "", "odoo_record_name": ""}
        self.assertEqual(odoo_event_to_core(copy_).replace(**odoo_owned), core.replace(**odoo_owned))
        return core, back, payload

    # -- identity -----------------------------------------------------------------

    def test_odoo_ref_is_database_and_id_and_parses_back(self):
        event = self.make()
        ref = odoo_ref(event)
        db_uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid")
        self.assertEqual(ref, f"{db_uuid}:calendar.event:{event.id}")
        self.assertEqual(parse_odoo_ref(self.env, ref), event)
        event.active = False
        self.assertEqual(parse_odoo_ref(self.env, ref), event, "archived events are still found")
        other_db = f"{uuid.uuid4()}:calendar.event:{event.id}"
        for bad in (other_db, f"{db_uuid}:res.partner:{event.id}", f"{db_uuid}:calendar.event:999999999",
                    f"{db_uuid}:calendar.event:x", "calendar.event,42", "", None):
            self.assertFalse(parse_odoo_ref(self.env, bad), bad)
            self.assertEqual(parse_odoo_ref(self.env, bad)._name, "calendar.event")

    def test_synced_fields_exist_on_calendar_event(self):
        self.assertLessEqual(SYNCED_FIELDS, set(self.env["calendar.event"]._fields))
        self.assertNotIn("write_date", SYNCED_FIELDS)

    # -- each field, Odoo -> core ---------------------------------------------------

    def test_timed_event_fields_to_core(self):
        tag = self.env["calendar.event.type"].create({"name": "Kundentermin"})
        event = self.make(
            description="<p>Agenda: <b>budget</b></p>", location="Salle Öresund",
            videocall_location="https://meet.example.com/abc", privacy="confidential", show_as="free",
            alarm_ids=[Command.set(self.env.ref("calendar.alarm_notif_1").ids)], categ_ids=[Command.set(tag.ids)],
            partner_ids=[Command.set((self.alice.partner_id | self.bob).ids)])
        core = odoo_event_to_core(event)
        self.assertEqual(core.subject, "Meeting")
        self.assertEqual(core.body_html, "<p>Agenda: <b>budget</b></p>")
        self.assertEqual((core.start, core.end), (datetime(2026, 6, 3, 7, 30, tzinfo=timezone.utc),
                                                  datetime(2026, 6, 3, 9, tzinfo=timezone.utc)))
        self.assertEqual(core.time_zone, "Europe/Brussels")
        self.assertFalse(core.all_day)
        self.assertEqual(core.location, "Salle Öresund")
        self.assertEqual(core.online_meeting_url, "https://meet.example.com/abc")
        self.assertEqual(core.sensitivity, Sensitivity.CONFIDENTIAL)
        self.assertEqual(core.show_as, ShowAs.FREE)
        self.assertEqual(core.reminder_minutes, 15)
        self.assertEqual(core.categories, ("Kundentermin",))
        self.assertEqual(core.organizer, Person("alice@contoso.com", "Alice Martin"))
        self.assertEqual(core.attendees, (Attendee("bob@contoso.com", "Bob Stone"),),
                         "the organizer is not an attendee in Outlook")
        self.assertEqual(core.odoo_url, f"{event.get_base_url()}/odoo/calendar/{event.id}")
        self.assertEqual(core.odoo_ref, odoo_ref(event))
        self.assertEqual((core.odoo_record_url, core.odoo_record_name), ("", ""))

    def test_empty_description_and_defaults(self):
        core = odoo_event_to_core(self.make(description="<p><br></p>", alarm_ids=[Command.clear()]))
        self.assertEqual(core.body_html, "")
        self.assertIsNone(core.reminder_minutes)
        self.assertEqual(core.sensitivity, Sensitivity.NORMAL, "no privacy + public user default = normal")
        self.assertEqual((core.location, core.online_meeting_url, core.categories), ("", "", ()))

    def test_privacy_both_ways_with_user_default(self):
        for privacy, sensitivity in (("public", "normal"), ("private", "private"), ("confidential", "confidential")):
            self.assertEqual(odoo_event_to_core(self.make(privacy=privacy)).sensitivity, sensitivity)
        self.alice.with_user(self.alice).calendar_default_privacy = "private"
        self.assertEqual(odoo_event_to_core(self.make(privacy=False)).sensitivity, Sensitivity.PRIVATE)
        organizer = Person("alice@contoso.com")
        expected = {"normal": "public", "personal": False, "private": False, "confidential": "confidential"}
        for sensitivity, privacy in expected.items():
            core = Event(start=datetime(2026, 1, 1, tzinfo=timezone.utc), end=datetime(2026, 1, 1, tzinfo=timezone.utc),
                         organizer=organizer, sensitivity=sensitivity)
            vals = core_to_odoo_values(self.env, core, user=self.alice, fields=["sensitivity"])
            self.assertEqual(vals, {"privacy": privacy}, sensitivity)
        # Lossy: Outlook's "personal" is Odoo's private; the base keeps it while Odoo stays private.
        event = self.make(privacy="private")
        base = odoo_event_to_core(event).replace(sensitivity=Sensitivity.PERSONAL)
        self.assertEqual(odoo_event_to_core(event, base=base).sensitivity, Sensitivity.PERSONAL)
        event.privacy = "confidential"
        self.assertEqual(odoo_event_to_core(event, base=base).sensitivity, Sensitivity.CONFIDENTIAL)

    def test_show_as_oof_is_busy_in_odoo_and_survives_other_odoo_edits(self):
        core = Event(start=datetime(2026, 1, 1, tzinfo=timezone.utc), end=datetime(2026, 1, 1, tzinfo=timezone.utc))
        for show_as, odoo in (("free", "free"), ("busy", "busy"), ("tentative", "busy"), ("oof", "busy"),
                              ("workingElsewhere", "busy"), ("unknown", "busy")):
            vals = core_to_odoo_values(self.env, core.replace(show_as=show_as), user=self.alice, fields=["show_as"])
            self.assertEqual(vals, {"show_as": odoo}, show_as)
        event = self.make(show_as="busy")
        base = odoo_event_to_core(event).replace(show_as=ShowAs.OOF)
        event.name = "Renamed in Odoo"
        self.assertEqual(odoo_event_to_core(event, base=base).show_as, ShowAs.OOF)
        event.show_as = "free"
        self.assertEqual(odoo_event_to_core(event, base=base).show_as, ShowAs.FREE)

    def test_base_keeps_what_odoo_cannot_store(self):
        tag = self.env["calendar.event.type"].create({"name": "Customer"})
        event = self.make(categ_ids=[Command.set(tag.ids)],
                          partner_ids=[Command.set((self.alice.partner_id | self.bob | self.zoe).ids)])
        plain = odoo_event_to_core(event)
        self.assertEqual({a.type for a in plain.attendees}, {AttendeeType.REQUIRED})
        base = plain.replace(
            time_zone="America/Los_Angeles", categories=("CUSTOMER",),
            attendees=(Attendee("bob@contoso.com", "Bob Stone", type=AttendeeType.OPTIONAL),
                       Attendee("room@contoso.com", "Room", type=AttendeeType.RESOURCE)))
        # the room was removed in Odoo (it has a contact there); an attendee without one would be kept
        self.env["res.partner"].create({"name": "Room", "email": "room@contoso.com"})
        kept = odoo_event_to_core(event, base=base)
        self.assertEqual(kept.time_zone, "America/Los_Angeles", "a single event keeps Outlook's zone")
        self.assertEqual(kept.categories, ("CUSTOMER",))
        self.assertEqual({a.email: (a.type, a.name) for a in kept.attendees},
                         {"bob@contoso.com": (AttendeeType.OPTIONAL, "Bob Stone"),
                          "zoe@example.org": (AttendeeType.REQUIRED, "Zoë Ñúñez")})
        renamed = base.replace(attendees=(Attendee("bob@contoso.com", "Robert (Contoso)"),),
                               organizer=Person("alice@contoso.com", "Martin, Alice"))
        kept_names = odoo_event_to_core(event, base=renamed)
        self.assertEqual([a.name for a in kept_names.attendees], ["Robert (Contoso)", "Zoë Ñúñez"])
        self.assertEqual(kept_names.organizer, Person("alice@contoso.com", "Martin, Alice"))
        self.assertEqual(kept.replace(time_zone=plain.time_zone, categories=plain.categories,
                                      attendees=plain.attendees), plain)
        tag.name = "Key account"
        self.assertEqual(odoo_event_to_core(event, base=base).categories, ("Key account",))

    def test_reminder_is_the_earliest_alarm_and_inbound_keeps_later_ones(self):
        notif_15 = self.env.ref("calendar.alarm_notif_1")
        notif_2h = self.env.ref("calendar.alarm_notif_4")
        notif_1d = self.env.ref("calendar.alarm_notif_5")
        event = self.make(alarm_ids=[Command.set((notif_15 | notif_2h | notif_1d).ids)])
        self.assertEqual(odoo_event_to_core(event).reminder_minutes, 1440)
        alarms_before = self.env["calendar.alarm"].search_count([])
        core = odoo_event_to_core(event).replace(reminder_minutes=30)
        write_odoo_values(event, core_to_odoo_values(self.env, core, user=self.alice,
                                                     fields=["reminder_minutes"], record=event))
        self.assertEqual(event.alarm_ids, notif_15 | self.env.ref("calendar.alarm_notif_2"),
                         "30 min replaces the 1-day reminder; the 2 h alarm would fire first, so it goes")
        self.assertEqual(odoo_event_to_core(event).reminder_minutes, 30)
        self.assertEqual(self.env["calendar.alarm"].search_count([]), alarms_before, "existing alarm reused")
        # An odd value Odoo has no alarm for is created once, in the largest whole unit.
        for _ in range(2):
            vals = core_to_odoo_values(self.env, core.replace(reminder_minutes=1500), user=self.alice,
                                       fields=["reminder_minutes"])
        alarm = self.env["calendar.alarm"].browse(vals["alarm_ids"][0][2])
        self.assertEqual((alarm.alarm_type, alarm.duration, alarm.interval, alarm.duration_minutes),
                         ("notification", 25, "hours", 1500))
        self.assertEqual(self.env["calendar.alarm"].search_count([]), alarms_before + 1)
        vals = core_to_odoo_values(self.env, core.replace(reminder_minutes=None), user=self.alice,
                                   fields=["reminder_minutes"], record=event)
        self.assertEqual(vals, {"alarm_ids": [Command.set([])]}, "reminder off = no reminder alarm")

    def test_tags_and_partners_are_found_case_insensitively_never_duplicated(self):
        existing_tag = self.env["calendar.event.type"].create({"name": "Customer"})
        core = Event(start=datetime(2026, 1, 1, tzinfo=timezone.utc), end=datetime(2026, 1, 1, tzinfo=timezone.utc),
                     organizer=Person("ALICE@contoso.com"),
                     categories=("customer", "Rot_%Kategorie"),
                     attendees=(Attendee("BOB@Contoso.COM", "Robert"), Attendee("new.person@example.com", "Nouvelle"),
                                Attendee("zoe@example.org", "Zoë", response=Response.DECLINED)))
        partners_before = self.env["res.partner"].search_count([])
        tags_before = self.env["calendar.event.type"].search_count([])
        events = self.env["calendar.event"]
        for _ in range(3):
            events |= self.Event.create({"name": "x", **core_to_odoo_values(self.env, core, user=self.alice)})
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before + 1)
        self.assertEqual(self.env["calendar.event.type"].search_count([]), tags_before + 1)
        for event in events:
            self.assertIn(existing_tag, event.categ_ids)
            self.assertEqual(sorted(event.categ_ids.mapped("name")), ["Customer", "Rot_%Kategorie"])
            self.assertEqual(event.user_id, self.alice)
            states = {a.partner_id.email_normalized: a.state for a in event.attendee_ids}
            self.assertEqual(states, {"alice@contoso.com": "accepted", "bob@contoso.com": "needsAction",
                                      "new.person@example.com": "needsAction", "zoe@example.org": "declined"})
        new = self.env["res.partner"].search([("email", "=", "new.person@example.com")])
        self.assertEqual(new.name, "Nouvelle")
        self.assertEqual(self.bob.name, "Bob Stone", "an existing partner is not renamed")

    def test_attendee_answers_both_ways_and_on_update(self):
        event = self.make(partner_ids=[Command.set((self.alice.partner_id | self.bob | self.zoe).ids)])
        event.attendee_ids.filtered(lambda a: a.partner_id == self.bob).state = "tentative"
        core = odoo_event_to_core(event)
        self.assertEqual({a.email: a.response for a in core.attendees},
                         {"bob@contoso.com": Response.TENTATIVE, "zoe@example.org": Response.NONE})
        carol = Attendee("carol@outlook.com", "Carol", response=Response.ACCEPTED)
        changed = core.replace(attendees=(Attendee("bob@contoso.com", response=Response.DECLINED), carol))
        bob_attendee = event.attendee_ids.filtered(lambda a: a.partner_id == self.bob)
        write_odoo_values(event, core_to_odoo_values(self.env, changed, user=self.alice, fields=["attendees"],
                                                     record=event))
        states = {a.partner_id.email_normalized: a.state for a in event.attendee_ids}
        self.assertEqual(states, {"alice@contoso.com": "accepted", "bob@contoso.com": "declined",
                                  "carol@outlook.com": "accepted"})
        self.assertIn(bob_attendee, event.attendee_ids, "the attendee record is kept, only its answer changes")
        # (attendees are ordered by create_date, equal within a transaction: compare sorted)
        self.assertEqual(sorted(event.partner_ids.mapped("email_normalized")),
                         sorted(event.attendee_ids.partner_id.mapped("email_normalized")))
        self.assertEqual({(a.email, a.response) for a in odoo_event_to_core(event).attendees},
                         {(a.email, a.response) for a in changed.attendees})

    def test_fields_limit_the_values(self):
        core = odoo_event_to_core(self.make())
        self.assertEqual(core_to_odoo_values(self.env, core, user=self.alice, fields=["subject"]), {"name": "Meeting"})
        self.assertEqual(set(core_to_odoo_values(self.env, core, user=self.alice, fields=["start"])),
                         {"start", "stop", "allday"})
        self.assertEqual(core_to_odoo_values(self.env, core, user=self.alice, fields=["odoo_url", "odoo_ref"]), {})

    def test_external_organizer_and_no_mail_is_sent(self):
        core = Event(subject="From outside", start=datetime(2030, 1, 1, 9, tzinfo=timezone.utc),
                     end=datetime(2030, 1, 1, 10, tzinfo=timezone.utc), organizer=Person("boss@fabrikam.com"),
                     attendees=(Attendee("alice@contoso.com"), Attendee("bob@contoso.com")))
        mails_before = self.env["mail.mail"].sudo().search_count([])
        vals = core_to_odoo_values(self.env, core, user=self.alice)
        self.assertIs(vals["user_id"], False)
        event = self.env["calendar.event"].create(vals)
        self.assertEqual(self.env["mail.mail"].sudo().search_count([]), mails_before,
                         "a meeting Outlook already mailed is not mailed again by Odoo")
        self.assertEqual(set(event.partner_ids.mapped("email_normalized")),
                         {"alice@contoso.com", "bob@contoso.com", "boss@fabrikam.com"},
                         "an organizer Odoo has no user for is a contact of the event, as Odoo shows it")
        self.assertEqual(odoo_event_to_core(event, base=core).organizer, Person("boss@fabrikam.com"))
        self.assertEqual(odoo_event_to_core(event, base=core).attendees, core.attendees)

    def test_odd_inbound_payload_maps_to_the_closest_form(self):
        payload = {
            "id": "AAMk-odd", "subject": "Odd", "isAllDay": False,
            "originalStartTimeZone": "Customized Time Zone",
            "start": {"dateTime": "2026-03-29T08:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-29T09:00:00.0000000", "timeZone": "UTC"},
            "showAs": "oof", "sensitivity": "personal", "isReminderOn": True, "reminderMinutesBeforeStart": 10080,
            "categories": ["Red category", "red CATEGORY"],
            "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting"},
            "body": {"contentType": "text", "content": "Line 1\nÄußerst <wichtig>"},
        }
        core, warnings = event_from_graph(payload, default_time_zone="Europe/Brussels")
        self.assertTrue(warnings)
        event = self.Event.create(core_to_odoo_values(self.env, core, user=self.alice))
        self.assertEqual((event.start, event.stop), (datetime(2026, 3, 29, 8), datetime(2026, 3, 29, 9)))
        self.assertEqual((event.show_as, event.privacy), ("busy", "private"))
        self.assertEqual(event.alarm_ids.duration_minutes, 10080)
        self.assertEqual(len(event.categ_ids), 1)
        self.assertEqual(event.videocall_location, "https://teams.microsoft.com/l/meetup-join/19%3ameeting")
        self.assertIn("Äußerst &lt;wichtig&gt;", event.description)

    # -- full round trips through the sandbox ------------------------------------

    def test_round_trip_timed_event_non_ascii_across_dst(self):
        event = self.make(name="Réunion 東京 — ✓", description="<p>Ordre du jour&nbsp;: <b>budget</b> — żółć</p>",
                          location="Salle Öresund, 3ᵉ étage", start=datetime(2026, 3, 28, 23, 30),
                          stop=datetime(2026, 3, 29, 2, 0), show_as="free", privacy="private")
        core, back, payload = self.assert_round_trip(event)
        self.assertEqual(payload["originalStartTimeZone"], "Romance Standard Time")
        self.assertTrue(same_zone(back.time_zone, "Europe/Brussels"), "Outlook knows Brussels as Paris")

    def test_round_trip_all_day_events_far_east_and_far_west(self):
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Brussels", "America/New_York"):
            with self.subTest(zone=zone):
                self.alice.tz = zone
                # New York and Brussels change to summer time inside these three days.
                event = self.make(name=f"Off-site {zone}", allday=True,
                                  start_date=date(2026, 3, 7), stop_date=date(2026, 3, 9))
                self.assertEqual((event.start, event.stop), (datetime(2026, 3, 7, 8), datetime(2026, 3, 9, 18)))
                core, back, payload = self.assert_round_trip(event)
                self.assertEqual((core.start, core.end), (date(2026, 3, 7), date(2026, 3, 9)))
                self.assertTrue(payload["isAllDay"])
                self.assertTrue(same_zone(back.time_zone, zone), back.time_zone)

    def test_round_trip_meeting_with_attendees_alarms_and_tags(self):
        tags = self.env["calendar.event.type"].create([{"name": "Kunde"}, {"name": "客户"}])
        event = self.make(
            partner_ids=[Command.set((self.alice.partner_id | self.bob | self.zoe).ids)],
            alarm_ids=[Command.set((self.env.ref("calendar.alarm_notif_1") | self.env.ref("calendar.alarm_notif_3")).ids)],
            categ_ids=[Command.set(tags.ids)])
        alarms, partners = self.env["calendar.alarm"].search_count([]), self.env["res.partner"].search_count([])
        core, back, payload = self.through_outlook(event)
        self.assertEqual(sorted(a["emailAddress"]["address"] for a in payload["attendees"]),
                         ["bob@contoso.com", "zoe@example.org"])
        self.assertEqual(payload["reminderMinutesBeforeStart"], 60)
        self.assertEqual(sorted(payload["categories"]), ["Kunde", "客户"])
        vals = core_to_odoo_values(self.env, back, user=self.alice, record=event)
        write_odoo_values(event, vals)
        self.assertEqual(event.alarm_ids, self.env.ref("calendar.alarm_notif_1") | self.env.ref("calendar.alarm_notif_3"),
                         "an unchanged reminder keeps every Odoo alarm")
        self.assertEqual(event.categ_ids, tags)
        self.assertEqual(event.partner_ids, self.alice.partner_id | self.bob | self.zoe)
        self.assertEqual((self.env["calendar.alarm"].search_count([]), self.env["res.partner"].search_count([])),
                         (alarms, partners))
        self.assertEqual(odoo_event_to_core(event), core)

    def test_round_trip_custom_meeting_url(self):
        event = self.make(videocall_location="https://zoom.example.com/j/42")
        core, back, payload = self.assert_round_trip(event)
        self.assertEqual(back.online_meeting_url, "https://zoom.example.com/j/42")
        self.assertIn({"id": MEETING_URL_PROPERTY_ID, "value": "https://zoom.example.com/j/42"},
                      payload["singleValueExtendedProperties"])

    def test_round_trip_discuss_video_url_is_sent_and_stays(self):
        event = self.make(videocall_location=self.env["calendar.event"].get_discuss_videocall_location())
        url = event.videocall_location
        self.assertIn("/calendar/join_videocall/", url)
        self.assertEqual(event.videocall_source, "discuss")
        core, back, payload = self.through_outlook(event)
        self.assertEqual(back.online_meeting_url, url, "attendees in Outlook get Odoo's Discuss link")
        write_odoo_values(event, core_to_odoo_values(self.env, back, user=self.alice, record=event))
        self.assertEqual(event.videocall_location, url)
        self.assertEqual(odoo_event_to_core(event), core)
        # Teams added in Outlook: its joinUrl is read back and replaces the Discuss link once;
        # Odoo then sends the Teams URL, so both sides agree (no ping-pong).
        teams = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"
        teams_core, _warnings = event_from_graph({**payload, "onlineMeeting": {"joinUrl": teams}})
        write_odoo_values(event, core_to_odoo_values(self.env, teams_core, user=self.alice,
                                                     fields=["online_meeting_url"], record=event))
        self.assertEqual(event.videocall_location, teams)
        self.assertEqual(odoo_event_to_core(event).online_meeting_url, teams_core.online_meeting_url)

    def test_round_trip_related_record_links_stay_out_of_the_description(self):
        # Any record works (a CRM opportunity in real life); a model without
        # activities keeps this test independent of mail.activity's access rules.
        customer = self.env["res.partner.category"].create({"name": "Big Deal & Co «Ö»"})
        model = self.env["ir.model"]._get("res.partner.category")
        event = self.make(description="<p>Notes typed by the user</p>", res_model_id=model.id, res_id=customer.id)
        core, back, payload = self.assert_round_trip(event)
        base = event.get_base_url()
        self.assertEqual(core.odoo_record_url, f"{base}/odoo/res.partner.category/{customer.id}")
        self.assertEqual(core.odoo_record_name, "Big Deal & Co «Ö»")
        self.assertEqual((back.odoo_url, back.odoo_record_url, back.odoo_record_name),
                         (core.odoo_url, core.odoo_record_url, core.odoo_record_name))
        content = payload["body"]["content"]
        self.assertIn(f'href="{base}/odoo/calendar/{event.id}"', content)
        self.assertIn(f'href="{base}/odoo/res.partner.category/{customer.id}"', content)
        # Outlook edits of the text around the block, then repeated trips: one block, text intact.
        graph_id = payload["id"]
        edited = "<p>Added in Outlook</p>" + content
        self.graph.patch(self.event_url(graph_id),
                         json={"body": {"contentType": "html", "content": edited}}, timeout=10).raise_for_status()
        descriptions = []
        for _ in range(4):
            fetched = self.graph.get(self.event_url(graph_id), timeout=10).json()
            back, _warnings = event_from_graph(fetched)
            write_odoo_values(event, core_to_odoo_values(self.env, back, user=self.alice, fields=["body_html"]))
            descriptions.append(str(event.description))
            again = event_to_graph(odoo_event_to_core(event), ["body_html"])
            self.graph.patch(self.event_url(graph_id), json=again, timeout=10).raise_for_status()
        self.assertEqual(len(set(descriptions)), 1, descriptions)
        self.assertNotIn("Open in Odoo", descriptions[0])
        # Exchange's wrapper leaves line breaks between the paragraphs; the text is exact.
        self.assertEqual(body_fingerprint(descriptions[0]), "Added in Outlook Notes typed by the user")
        self.assertRegex(descriptions[0], r"^<p>Added in Outlook</p>\s*<p>Notes typed by the user</p>$")
        final = self.graph.get(self.event_url(graph_id), timeout=10).json()["body"]["content"]
        self.assertEqual(final.count("Open in Odoo</a>"), 1)
        self.assertEqual(final.count("Open in Odoo: "), 1)
