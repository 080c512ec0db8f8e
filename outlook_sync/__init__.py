"""Pure-Python core of the Outlook calendar sync: Graph client, MSAL sign-in,
event model and mapping, recurrence, time zones and the reconcile engine.

It never imports Odoo: the addon adapts ``calendar.event`` records to this
package's event model and stores what it decides.
"""
