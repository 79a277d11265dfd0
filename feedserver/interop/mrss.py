"""A profile's alerts as Media RSS 2.0, the feed that BrightSign, Xibo and Scala style players read.

Each item carries one `media:content` per image format at the profile's size, pointing at
the immutable render URL, directly in the item (players that know no `media:group` still see
them; the first, in the profile's order, is `isDefault`). Its guid names the alert version, so
players that cache media by guid fetch the new creative after every update.
"""

from __future__ import annotations

from feedgen.feed import FeedGenerator

from feedserver.interop.syndication import FeedItem, FeedMeta


def rss_feed(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    feed = FeedGenerator()
    feed.load_extension("media", atom=False, rss=True)
    feed.title(meta.title)
    feed.description(meta.subtitle)
    feed.link(href=meta.self_url, rel="self")
    feed.link(href=meta.public_url, rel="alternate")
    feed.language(meta.language)
    feed.generator("feedserver")
    feed.ttl(meta.ttl_minutes)
    feed.lastBuildDate(meta.updated)
    width, height = meta.profile.size
    for item in items:
        entry = feed.add_entry(order="append")
        entry.guid(f"{item.alert.id}:v{item.alert.version}", permalink=False)
        entry.title(item.title)
        entry.link(href=item.link)
        entry.pubDate(item.alert.updated_at)
        entry.description(item.text or item.title)
        for n, image in enumerate(item.images):
            entry.media.content(url=image.url, type=image.content_type, medium="image",
                                width=str(width), height=str(height), group=None,
                                isDefault="true" if n == 0 else None)
    return feed.rss_str(pretty=True)
