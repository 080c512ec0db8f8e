#!/usr/bin/env python3
"""Checks a running demo (tools/run_demo.py, or the Docker compose setup) from
the outside, over HTTP, the way a newcomer would click through it:

1. every demo user logs in (``/web/session/authenticate``);
2. the addon is installed and the settings point at the sandbox (as admin);
3. each demo user's calendar holds the demo events;
4. the sandbox answers and holds the seeded mailboxes;
5. Alice connects her Outlook mailbox: Odoo's Connect → the sandbox's
   "Pick an account" page → Accept → back to Odoo → account "connected".

    python3 tools/check_demo.py --ca FILE [--odoo http://localhost:8069] [--db NAME]

``--ca`` is the sandbox's CA file (run_demo prints it; with Docker copy it
out of the volume). Exit 0 when every check passes. Needs ``requests``.
"""

import argparse
import re
import sys
from urllib.parse import urlsplit

import requests
from outlook_sandbox.signin_form import parse_sign_in_form

USERS = {"admin": "admin@yourcompany.example.com", "demo": "mark.brown23@example.com",
         "alice": "alice@contoso.com", "bob": "bob@contoso.com"}
DEMO_EVENTS = {"alice": {"Customer call: Deco Addict", "Odoo training day", "Budget review (Alice and Bob)"},
               "bob": {"Doctor", "Budget review (Alice and Bob)"},
               "admin": {"Pipeline review with Marc"}, "demo": {"Pipeline review with Marc"}}
failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)
    return condition


def rpc(session, odoo, path, params):
    response = session.post(f"{odoo}{path}", json={"jsonrpc": "2.0", "method": "call", "params": params},
                            timeout=30)
    response.raise_for_status()
    body = response.json()
    if "error" in body:
        raise RuntimeError(body["error"].get("data", {}).get("message") or body["error"])
    return body["result"]


def call(session, odoo, model, method, *args, **kwargs):
    return rpc(session, odoo, "/web/dataset/call_kw",
               {"model": model, "method": method, "args": list(args), "kwargs": kwargs})


def login(odoo, db, user):
    session = requests.Session()
    result = rpc(session, odoo, "/web/session/authenticate", {"db": db, "login": user, "password": user})
    return session, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--odoo", default="http://localhost:8069")
    parser.add_argument("--db", default="outlook_calendar_demo",
                        help="database (default: %(default)s, run_demo's; Docker's is odoo)")
    parser.add_argument("--ca", required=True, help="the sandbox's CA certificate file")
    parser.add_argument("--no-connect", action="store_true", help="skip step 5 (it connects Alice's account)")
    args = parser.parse_args()
    odoo = args.odoo.rstrip("/")
    db = args.db

    sessions = {}
    for user, email in USERS.items():
        try:
            session, info = login(odoo, db, user)
        except (RuntimeError, requests.RequestException) as exc:
            check(False, f"{user} logs in: {exc}")
            continue
        check(info.get("uid"), f"{user} logs in (uid {info.get('uid')})")
        sessions[user] = session
        me = call(session, odoo, "res.users", "read", [info["uid"]], ["email"])[0]
        check(me["email"] == email, f"{user}'s e-mail is the sandbox mailbox {email} (got {me['email']})")
        names = {e["name"] for e in call(session, odoo, "calendar.event", "search_read",
                                         [("partner_ids", "in", [info["partner_id"]])], ["name"])}
        check(DEMO_EVENTS[user] <= names, f"{user}'s calendar holds the demo events {sorted(DEMO_EVENTS[user])}")
    if "admin" not in sessions:
        return 1

    admin = sessions["admin"]
    state = call(admin, odoo, "ir.module.module", "search_read", [("name", "=", "microsoft_calendar_sync")],
                 ["state"])
    check(state and state[0]["state"] == "installed", "microsoft_calendar_sync is installed")
    params = {p["key"]: p["value"] for p in call(
        admin, odoo, "ir.config_parameter", "search_read",
        ["|", ("key", "like", "microsoft_calendar_sync."), ("key", "in", ["web.base.url", "web.base.url.freeze"])],
        ["key", "value"])}
    check(params.get("microsoft_calendar_sync.enabled") == "True", "the Outlook Calendar setting is on")
    check(params.get("microsoft_calendar_sync.use_sandbox") == "True", "the settings use the sandbox")
    login_url = params.get("microsoft_calendar_sync.login_url", "")
    graph_url = params.get("microsoft_calendar_sync.graph_url", "")
    check(login_url.startswith("https://") and graph_url == login_url.rstrip("/") + "/v1.0",
          f"sign-in {login_url} and Graph {graph_url} URLs are the sandbox's")
    check(params.get("web.base.url") == odoo and params.get("web.base.url.freeze") == "True",
          f"web.base.url is {params.get('web.base.url')} (frozen)")

    mailboxes = requests.get(f"{login_url}/_sandbox/mailboxes", verify=args.ca, timeout=10).json()
    mailboxes = mailboxes.get("value", mailboxes) if isinstance(mailboxes, dict) else mailboxes
    addresses = {m.get("address") for m in mailboxes}
    check(set(USERS.values()) <= addresses, f"the sandbox answers and holds the demo mailboxes ({len(addresses)})")
    alice_events = requests.get(f"{login_url}/_sandbox/mailboxes/alice@contoso.com/events",
                                verify=args.ca, timeout=10).json()
    alice_events = alice_events.get("value", alice_events) if isinstance(alice_events, dict) else alice_events
    check(len(alice_events) >= 1, f"Alice's Outlook mailbox has seeded events ({len(alice_events)})")

    if not args.no_connect and "alice" in sessions:
        alice = sessions["alice"]
        start = alice.get(f"{odoo}/microsoft_calendar_sync/connect", allow_redirects=False, timeout=30)
        location = start.headers.get("Location", "")
        if check(start.status_code == 303 and location.startswith(login_url + "/"),
                 f"Connect sends the browser to the sandbox's sign-in page ({location[:60]}...)"):
            page = requests.get(location, verify=args.ca, allow_redirects=False, timeout=10)
            callback = odoo + "/microsoft_account/authentication?"
            back = None
            if page.status_code == 302:
                # Consent was given before (an earlier run, the browser): Microsoft, and the
                # sandbox, answer at once with the redirect back, without a page.
                back = page.headers.get("Location", "")
                check(back.startswith(callback), "the sandbox, consented before, redirects straight back to Odoo")
            else:
                form = parse_sign_in_form(page.text) if page.status_code == 200 else None
                mailbox_id = next((m.get("id") for m in mailboxes if m.get("address") == USERS["alice"]), None)
                if check(form is not None and mailbox_id in form.account_ids,
                         "the sandbox's sign-in page offers alice@contoso.com"):
                    answer = requests.post(login_url + form.action,
                                           data={**form.hidden, "action": "accept", "account": mailbox_id},
                                           verify=args.ca, allow_redirects=False, timeout=10)
                    back = answer.headers.get("Location", "")
                    check(answer.status_code == 302 and back.startswith(callback),
                          "Accept redirects back to Odoo's /microsoft_account/authentication")
                else:
                    print(re.sub(r"\s+", " ", page.text)[:500])
            if back and back.startswith(callback):
                done = alice.get(back, allow_redirects=False, timeout=60)
                check(done.status_code == 303 and urlsplit(done.headers.get("Location", "")).path == "/odoo/calendar",
                      f"Odoo redeems the code and returns to the calendar ({done.status_code})")
                accounts = call(alice, odoo, "microsoft.calendar.account", "search_read", [],
                                ["state", "mailbox"])
                check(accounts and accounts[0]["state"] in ("connected", "syncing")
                      and accounts[0]["mailbox"] == USERS["alice"],
                      f"Alice's Outlook account is connected ({accounts})")

    print(f"\ncheck_demo: {'OK' if not failures else f'{len(failures)} check(s) FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
