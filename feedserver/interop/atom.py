"""A profile's alerts as an Atom feed whose entries carry and link to their CAP 1.2 message.

This is the "CAP in Atom" style alert hubs use: each entry embeds the CAP message as
`application/cap+xml` content, so a reader needs no second request (or credentials) to get it,
and links to `/v1/cap/{id}.xml` for readers that fetch it themselves.
"""

from __future__ import annotations

from feedgen.feed import FeedGenerator

from feedserver.interop.syndication import FeedItem, FeedMeta
from feedserver.interop.vocabulary import CAP_CONTENT_TYPE


def atom_feed(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    feed = FeedGenerator()
    feed.id(f"urn:feedserver:feed:{meta.network.id}:{meta.profile.id}")
    feed.title(meta.title)
    feed.subtitle(meta.subtitle)
    feed.author(name=meta.network.name)
    feed.link(href=meta.self_url, rel="self", type="application/atom+xml")
    feed.language(meta.language)
    feed.generator("feedserver", uri=meta.public_url)
    feed.updated(meta.updated)
    for item in items:
        entry = feed.add_entry(order="append")
        entry.id(f"urn:feedserver:alert:{item.alert['id']}")
        entry.title(item.title)
        entry.updated(item.alert["updated_at"])
        if item.alert.get("published_at"):
            entry.published(item.alert["published_at"])
        if item.text:
            entry.summary(item.text)
        entry.link(href=item.cap_url, rel="alternate", type=CAP_CONTENT_TYPE)
        for image in item.images:
            entry.link(href=image.url, rel="enclosure", type=image.content_type)
        entry.content(item.cap, type=CAP_CONTENT_TYPE)
    return feed.atom_str(pretty=True)
