"""A profile's alerts as an Atom feed whose entries carry and link to their CAP 1.2 message.

This is the "CAP in Atom" style alert hubs use: each entry embeds the CAP message as
`application/cap+xml` content, so a reader needs no second request (or credentials) for it,
and links to `/v1/cap/{id}.xml` for readers that fetch it themselves. Built with lxml:
feedgen 1.0 drops the `rel` and `type` of entry links, which readers need here.
"""

from __future__ import annotations

from lxml import etree
from lxml.builder import ElementMaker

from feedserver.interop.syndication import FeedItem, FeedMeta
from feedserver.interop.vocabulary import CAP_CONTENT_TYPE
from feedserver.timeutil import format_time

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
A = ElementMaker(namespace=ATOM_NS, nsmap={None: ATOM_NS})


def atom_feed(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    feed = A.feed(
        A.id(f"urn:feedserver:feed:{meta.network.id}:{meta.profile.id}"),
        A.title(meta.title),
        A.subtitle(meta.subtitle),
        A.updated(format_time(meta.updated)),
        A.author(A.name(meta.network.name)),
        A.link(href=meta.self_url, rel="self", type="application/atom+xml"),
        A.generator("feedserver", uri=meta.public_url),
    )
    feed.set(XML_LANG, meta.language)
    for item in items:
        feed.append(_entry(item))
    # not indented: whitespace added inside an embedded CAP message would break its signature
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8")


def _entry(item: FeedItem) -> etree._Element:
    alert = item.alert
    entry = A.entry(
        A.id(f"urn:feedserver:alert:{alert.id}"),
        A.title(item.title),
        A.updated(alert.updated_at),
    )
    if alert.published_at:
        entry.append(A.published(alert.published_at))
    if item.text:
        entry.append(A.summary(item.text))
    entry.append(A.link(href=item.cap_url, rel="alternate", type=CAP_CONTENT_TYPE))
    for image in item.images:
        entry.append(A.link(href=image.url, rel="enclosure", type=image.content_type))
    entry.append(A.content(etree.fromstring(item.cap), type=CAP_CONTENT_TYPE))
    return entry
