"""Delta query state: the server side of ``$skiptoken`` and ``$deltatoken``.

Graph's calendarView delta (reference §3) syncs one calendar within one time
window. A *round* answers pages chained by ``@odata.nextLink``
(``...?$skiptoken=...``); its last page carries ``@odata.deltaLink``
(``...?$deltatoken=...``), from which the next round returns only what changed
since. The tokens are opaque base64url strings that name server-side state,
as Exchange's sync states are:

- a delta token remembers the calendar, the window, the mailbox ``seq``
  high-water mark when the round was computed, and the ids that were then in
  the window (so the next round can tell which occurrences went away);
- a skip token also holds the round's items, frozen when the round began,
  and the offset of its page, so paging neither loses nor repeats anything while the mailbox keeps
  changing (those changes show up in the next round instead).

States are kept per mailbox in a bounded cache, like Exchange's sync-state
cache: the oldest are dropped when it is full, and :func:`evict_tokens` (the
control API) drops them on demand. A token whose state is gone answers
410 ``SyncStateNotFound``; a token that is not one of ours is 400
``InvalidDeltaToken``. A delta token may be used any number of times
(replaying an old deltaLink returns the changes since that point again).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from .errors import GraphError
from .store import Mailbox, World

# Sync states kept per mailbox before the oldest are dropped (Exchange's cache
# size is not documented; this is large enough for any sane client).
STATES_PER_MAILBOX = 500

_DELTA, _SKIP = b"D", b"S"
_TOKEN_BYTES = 1 + 8 + 8 + 12  # kind, mailbox hash, generation, random


@dataclass
class SyncState:
    """What a token stands for."""

    mailbox_id: str
    calendar_id: str
    window_start: datetime
    window_end: datetime
    generation: int
    seq: int  # mailbox.seq when the round's changes were computed
    seen: frozenset[str]  # ids that were in the window then
    # Skip tokens only: the whole round, rendered when it began (shared by all
    # its skip tokens), and where the next page starts.
    round_items: list[dict] = field(default_factory=list)
    offset: int = 0
    page_size: int = 0  # the round's odata.maxpagesize (0: none asked for)
    top: int | None = None  # $top of the request that began the sync (Graph keeps it in its tokens)


@dataclass
class _MailboxStates:
    generation: int = 0
    states: "OrderedDict[str, SyncState]" = field(default_factory=OrderedDict)


def _store(world: World) -> dict[str, _MailboxStates]:
    return world.extra.setdefault("delta_states", {})


def _mailbox_hash(mailbox_id: str) -> bytes:
    return hashlib.sha256(mailbox_id.encode("utf-8")).digest()[:8]


def issue(world: World, mailbox: Mailbox, state: SyncState, *, skip: bool) -> str:
    """Register ``state`` and return its new token (sets ``state.generation``)."""
    per_mailbox = _store(world).setdefault(mailbox.id, _MailboxStates())
    per_mailbox.generation += 1
    state.generation = per_mailbox.generation
    raw = (_SKIP if skip else _DELTA) + _mailbox_hash(mailbox.id) + struct.pack(">q", state.generation) \
        + secrets.token_bytes(12)
    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    per_mailbox.states[token] = state
    while len(per_mailbox.states) > STATES_PER_MAILBOX:
        per_mailbox.states.popitem(last=False)
    return token


def invalid_token(value: str, parameter: str) -> GraphError:
    return GraphError(400, "InvalidDeltaToken", f"The value '{value}' of parameter '{parameter}' is invalid.")


def resolve(world: World, mailbox: Mailbox, token: str, *, skip: bool) -> SyncState:
    """The state behind a token the caller sent; 400 or 410 when there is none."""
    parameter = "$skipToken" if skip else "$deltaToken"
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise invalid_token(token, parameter) from None
    if len(raw) != _TOKEN_BYTES or raw[:1] != (_SKIP if skip else _DELTA):
        raise invalid_token(token, parameter)
    # Sync states live in the mailbox: another mailbox's token names nothing
    # there, so it is malformed from this mailbox's point of view (400, not 410).
    if raw[1:9] != _mailbox_hash(mailbox.id):
        raise invalid_token(token, parameter)
    per_mailbox = _store(world).get(mailbox.id) or _MailboxStates()
    state = per_mailbox.states.get(token)
    if state is None:
        (generation,) = struct.unpack(">q", raw[9:17])
        recent = "".join(f"[{s.generation}]" for s in list(per_mailbox.states.values())[-3:])
        raise GraphError(410, "SyncStateNotFound", f"The sync state generation is not found; "
                         f"generation={generation};[highest={per_mailbox.generation}]{recent}.")
    return state


def evict_tokens(world: World, mailbox: Mailbox | None = None) -> int:
    """Make every outstanding delta and skip token of ``mailbox`` (None: of all
    mailboxes) answer 410 from now on. Returns how many were dropped."""
    with world.lock:
        store = _store(world)
        targets = [store[mailbox.id]] if mailbox is not None and mailbox.id in store else \
            ([] if mailbox is not None else list(store.values()))
        dropped = 0
        for per_mailbox in targets:
            dropped += len(per_mailbox.states)
            per_mailbox.states.clear()
        return dropped
