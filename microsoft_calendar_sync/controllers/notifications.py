# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Graph's change and lifecycle notifications (reference §5.2-5.4).

Public and without CSRF: Graph calls it. Every notification must name a
subscription Odoo created and carry its secret clientState; the request never
syncs: a change triggers the pull cron once per request, a lifecycle
notification marks the subscription for the subscription cron (or clears the
account's delta link for ``missed``).
"""

import hmac
import json
import logging

from odoo import http
from odoo.http import request

from ..models.microsoft_calendar_subscription import NOTIFY_PATH

_logger = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
# ids already logged as unknown; bounded, since anyone can send new ones
_UNKNOWN_LOGGED = set()
MAX_UNKNOWN_LOGGED = 1000


class OutlookNotifications(http.Controller):

    @http.route(NOTIFY_PATH, type="http", auth="public", methods=["POST"], csrf=False, save_session=False)
    def notifications(self, **kwargs):
        token = request.httprequest.args.get("validationToken")
        if token is not None:
            # the handshake: the decoded token, as plain text, within 10 s
            return request.make_response(token, headers=[("Content-Type", "text/plain; charset=utf-8")])
        length = request.httprequest.content_length
        if length is not None and length > MAX_BODY:
            return request.make_response("Too large", status=413)
        body = request.httprequest.get_data(cache=False)
        if len(body) > MAX_BODY:
            return request.make_response("Too large", status=413)
        try:
            items = json.loads(body)["value"]
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return request.make_response("Malformed", status=400)
        Subscription = request.env["microsoft.calendar.subscription"].sudo()
        found = Subscription.search([("graph_id", "in", [str(item.get("subscriptionId")) for item in items])])
        by_id = {subscription.graph_id: subscription for subscription in found}
        for item in items:
            subscription = by_id.get(str(item.get("subscriptionId")))
            if subscription is None:
                unknown = str(item.get("subscriptionId"))[:100]
                if unknown not in _UNKNOWN_LOGGED:
                    if len(_UNKNOWN_LOGGED) >= MAX_UNKNOWN_LOGGED:
                        _UNKNOWN_LOGGED.clear()
                    _UNKNOWN_LOGGED.add(unknown)
                    _logger.info("Outlook notification for an unknown subscription refused")
                return request.make_response("Forbidden", status=403)
            if not hmac.compare_digest(str(item.get("clientState") or "").encode(),
                                       (subscription.client_state or "").encode()):
                _logger.info("Outlook notification with a wrong clientState refused")
                return request.make_response("Forbidden", status=403)
        changed = missed = removed = reauthorize = Subscription.browse()
        for item in items:
            subscription = by_id[str(item["subscriptionId"])]
            event = item.get("lifecycleEvent")
            if event == "missed":
                missed |= subscription
            elif event == "subscriptionRemoved":
                # Graph dropped it: a fresh delta round, and the subscription cron creates
                # a new one (creating it here would wait on the handshake to this endpoint)
                missed |= subscription
                removed |= subscription
            elif event == "reauthorizationRequired":
                # Graph work belongs to the cron (token refresh, POST .../reauthorize)
                reauthorize |= subscription
            else:
                changed |= subscription
        changed -= removed
        reauthorize -= removed
        if changed:
            changed._mcs_notified()
        if missed:
            missed._mcs_missed()
        if reauthorize:
            reauthorize._mcs_reauthorization_required()
        if removed:
            removed.unlink()
        if removed or reauthorize:
            request.env.ref("microsoft_calendar_sync.ir_cron_mcs_subscriptions").sudo()._trigger()
        if changed or missed:
            # only the notified accounts are pulled (the polling cron runs every account)
            request.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull_notified").sudo()._trigger()
        return request.make_response("", status=202)
