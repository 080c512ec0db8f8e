"""Route handlers, one module per area; importing them registers their routes."""
from . import batch, control, events, identity, meetings, subscriptions, users, views  # noqa: F401
