"""No CAP message, however odd, makes the ingest answer 500."""

from __future__ import annotations

from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.api import auth
from support.config import PUBLISHER

NAMES = ["circumstance", "children[0].name", "children[0].age", "children[1].age",
         "children[9].height_cm", "children[0].sex", "suspects[2].description",
         "vehicles[0].country", "last_seen.at", "last_seen.place", "children[0].photo", "x"]
text = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=40)
parameters = st.lists(st.tuples(st.sampled_from(NAMES), text), max_size=8)
times = st.sampled_from(["2026-11-28T14:00:00Z", "2026-11-28T14:00:00.5+00:00", "yesterday",
                         "2026-11-28T14:00:00", "2026-13-40T99:00:00+01:00"])


@st.composite
def messages(draw) -> bytes:
    params = "".join(f"<parameter><valueName>{escape(n)}</valueName><value>{escape(v)}</value>"
                     f"</parameter>" for n, v in draw(parameters))
    resource = draw(st.sampled_from([
        "", "<resource><resourceDesc>children[0].photo</resourceDesc><mimeType>image/jpeg"
            "</mimeType><derefUri>bm90IGFuIGltYWdl</derefUri></resource>",
        "<resource><resourceDesc>children[0].photo</resourceDesc><mimeType>image/png"
            "</mimeType><uri>file:///etc/passwd</uri></resource>"]))
    info = (f"<info><language>{escape(draw(st.sampled_from(['nl', 'en-GB', 'xx', 'NL'])))}"
            f"</language><category>Rescue</category><event>{escape(draw(text))} Vermist Kind"
            f"</event><urgency>Immediate</urgency><severity>Severe</severity>"
            f"<certainty>Likely</certainty><expires>{draw(times)}</expires>"
            f"<description>{escape(draw(text))}</description><web>{escape(draw(text))}</web>"
            f"<contact>{escape(draw(text))}</contact>{params}{resource}"
            f"<area><areaDesc>x</areaDesc><geocode><valueName>ISO3166</valueName>"
            f"<value>{escape(draw(text))}</value></geocode></area></info>")
    msg_type = draw(st.sampled_from(["Alert", "Update", "Cancel", "Ack"]))
    refs = escape(draw(st.sampled_from(["", "a", "s,a,2026-11-28T14:00:00Z", ",,,", " "])))
    return (f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
            f"<identifier>{escape(draw(text))}</identifier><sender>s</sender>"
            f"<sent>{draw(times)}</sent><status>Actual</status><msgType>{msg_type}</msgType>"
            f"<scope>Public</scope><references>{refs}</references>"
            f"{info * draw(st.integers(0, 2))}</alert>").encode()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=messages())
async def test_odd_cap_messages_never_cause_a_500(client, body):
    response = await client.post("/v1/ingest/cap", data=body, headers={
        **auth(PUBLISHER), "Content-Type": "application/cap+xml"})
    assert response.status in (200, 201, 400, 404, 409, 422), await response.text()
