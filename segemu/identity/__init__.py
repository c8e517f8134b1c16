"""Identity resolution and profiles (Segment Unify): the identity graph as a pipeline stage,
profiles, and the in-process Profiles API (see stage.py for its shape)."""

from __future__ import annotations

from segemu.identity.profiles import ExternalId, Profile, TraitValue
from segemu.identity.settings import DEFAULT_SPACE, IdentitySettings, Space, Spaces, load_spaces
from segemu.identity.stage import Identity, ProfileChange

__all__ = [
    "DEFAULT_SPACE",
    "ExternalId",
    "Identity",
    "IdentitySettings",
    "Profile",
    "ProfileChange",
    "Space",
    "Spaces",
    "TraitValue",
    "load_spaces",
]
