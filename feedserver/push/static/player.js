// The reference player: see feedserver/push/player.py.
"use strict";
(function () {
  var settings = JSON.parse(document.getElementById("player-settings").textContent);
  var ENDED = ["alert.cancelled", "alert.expired", "alert.withdrawn"];
  var TYPES = ["alert.published", "alert.updated", "alert.resolved"].concat(ENDED);
  var IMAGES = ["jpg", "png", "webp"];
  var stage = document.getElementById("stage");
  var alerts = [];        // entries as the feed document gives them, in its order
  var skew = 0;           // server clock minus ours, so valid_until means the server's time
  var index = 0;
  var shown = null;       // "id/version/format" on screen, so a refresh does not flicker
  var lastPush = 0;       // when a pushed event last changed the list
  var pushed = Promise.resolve();  // pushed messages are verified and applied in order
  var creatives = {};     // render URL -> promise of a verified element source (blob URL)
  var refused = [];

  // Nothing is shown before its signature verifies: with the keys this page was served with,
  // a proxy, cache or CMS that changes one byte of a document, an envelope or a render is
  // refused, and the screen shows nothing rather than something false.
  var keys = window.crypto && window.crypto.subtle ? importKeys(settings.keys) : null;

  function importKeys(jwks) {
    return Promise.all(jwks.map(function (jwk) {
      var algorithm = jwk.kty === "EC" ? {name: "ECDSA", namedCurve: jwk.crv}
        : {name: "RSASSA-PKCS1-v1_5", hash: "SHA-256"};
      var material = {kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, n: jwk.n, e: jwk.e};
      return crypto.subtle.importKey("jwk", material, algorithm, false, ["verify"])
        .then(function (key) { return [jwk.kid, key]; });
    })).then(function (pairs) {
      var byKid = {};
      pairs.forEach(function (pair) { byKid[pair[0]] = pair[1]; });
      return byKid;
    });
  }

  function refuse(what) {
    refused.push(what);
    document.body.setAttribute("data-refused", refused.join(" "));
  }

  function fromBase64url(text) {
    var binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function toBase64url(bytes) {
    var binary = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // A detached compact JWS (`header..signature`) of `payload` (bytes), by a trusted key.
  // A key not known yet is learnt only from the server's key set signed by a known one
  // (after a rotation, the previous key signs it), so trust passes from key to key.
  function verify(signature, payload, knownOnly) {
    if (!keys || typeof signature !== "string") return Promise.resolve(false);
    var parts = signature.split(".");
    if (parts.length !== 3 || parts[1] !== "") return Promise.resolve(false);
    return keys.then(function (byKid) {
      var header = JSON.parse(new TextDecoder().decode(fromBase64url(parts[0])));
      var key = byKid[header.kid];
      if (!key) {
        return knownOnly ? false : learnKeys().then(function (learnt) {
          return learnt && verify(signature, payload, true);
        });
      }
      var algorithm = header.alg === "ES256" ? {name: "ECDSA", hash: "SHA-256"}
        : header.alg === "RS256" ? {name: "RSASSA-PKCS1-v1_5"} : null;
      if (!algorithm) return false;
      var input = new TextEncoder().encode(parts[0] + "." + toBase64url(payload));
      return crypto.subtle.verify(algorithm, key, fromBase64url(parts[2]), input);
    }).catch(function () { return false; });
  }

  var learning = null;
  function learnKeys() {
    if (!learning) {
      learning = fetch(settings.keys_url, {cache: "no-cache"}).then(function (response) {
        var signature = response.headers.get("Feedserver-JWS");
        return response.arrayBuffer().then(function (body) {
          return verify(signature, new Uint8Array(body), true).then(function (ok) {
            if (!ok) { refuse("keys"); return false; }
            var jwks = JSON.parse(new TextDecoder().decode(body)).keys;
            return Promise.all([keys, importKeys(jwks)]).then(function (both) {
              Object.assign(both[0], both[1]);
              document.body.setAttribute("data-keys", Object.keys(both[0]).join(" "));
              return true;
            });
          });
        });
      }).catch(function () { return false; }).finally(function () { learning = null; });
    }
    return learning;
  }

  // RFC 8785 canonical JSON of what push messages carry (strings, integers, booleans, null).
  function canonical(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    return "{" + Object.keys(value).sort().map(function (k) {
      return JSON.stringify(k) + ":" + canonical(value[k]);
    }).join(",") + "}";
  }

  function verifyMessage(message) {
    var signature = message.jws;
    delete message.jws;
    return verify(signature, new TextEncoder().encode(canonical(message)));
  }

  function now() { return Date.now() + skew; }

  function live() {
    return alerts.filter(function (a) { return Date.parse(a.valid_until) > now(); });
  }

  function headline(entry) {
    for (var i = 0; i < settings.languages.length; i++) {
      if (entry.headline[settings.languages[i]]) return entry.headline[settings.languages[i]];
    }
    var langs = Object.keys(entry.headline);
    return langs.length ? entry.headline[langs[0]] : "";
  }

  function textCreative(entry) {
    var text = document.createElement("div");
    text.className = "text" + (entry.status === "resolved" ? " resolved" : "");
    text.textContent = headline(entry);
    if (entry.test) {
      var mark = document.createElement("small");
      mark.textContent = "TEST";
      text.appendChild(mark);
    }
    return text;
  }

  // A render's bytes, verified against its Feedserver-JWS, as a blob URL; null if refused.
  function verifiedRender(url) {
    if (!creatives[url]) {
      creatives[url] = fetch(url).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        var signature = response.headers.get("Feedserver-JWS");
        var type = response.headers.get("Content-Type");
        return response.arrayBuffer().then(function (body) {
          return verify(signature, new Uint8Array(body)).then(function (ok) {
            if (!ok) { refuse("render"); return null; }
            return URL.createObjectURL(new Blob([body], {type: type}));
          });
        });
      }).catch(function () { delete creatives[url]; return null; });
    }
    return creatives[url];
  }

  // The entry's html render, else an image, else (or when a render is refused) its headline.
  function creative(entry) {
    var renders = entry.renders || {};
    var formats = ["html"].concat(IMAGES).filter(function (f) { return renders[f]; });
    if (!formats.length) return Promise.resolve(textCreative(entry));
    return verifiedRender(renders[formats[0]]).then(function (source) {
      if (!source) return textCreative(entry);
      var element;
      if (formats[0] === "html") {
        element = document.createElement("iframe");
        element.setAttribute("scrolling", "no");
        element.setAttribute("sandbox", "");
      } else {
        element = document.createElement("img");
        element.alt = headline(entry);
      }
      element.src = source;
      element.setAttribute("data-verified", "render");
      return element;
    });
  }

  function show() {
    var list = live();
    if (!list.length) {
      if (shown !== null) { stage.replaceChildren(); shown = null; }
      document.body.setAttribute("data-state", "idle");
      stage.removeAttribute("data-alert");
      stage.removeAttribute("data-version");
      return;
    }
    index = index % list.length;
    var entry = list[index];
    var key = entry.id + "/" + entry.version + "/" + Object.keys(entry.renders || {}).join();
    if (key !== shown) {
      shown = key;
      creative(entry).then(function (element) {
        if (shown === key) stage.replaceChildren(element);
      });
    }
    stage.setAttribute("data-alert", entry.id);
    stage.setAttribute("data-version", entry.version);
    document.body.setAttribute("data-state", "alert");
  }

  function snapshot(doc) {
    alerts = doc.alerts;
    show();
  }

  function change(envelope) {
    var entry = envelope.alert;
    var at = alerts.findIndex(function (a) { return a.id === entry.id; });
    if (ENDED.indexOf(envelope.type) >= 0) {
      if (at >= 0) alerts.splice(at, 1);
    } else if (at >= 0) {
      alerts[at] = entry;
    } else {
      alerts.push(entry);
    }
    lastPush = Date.now();
    show();
  }

  function poll() {
    var started = Date.now();
    fetch(settings.feed, {cache: "no-cache"}).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      // The server's clock: Date has whole seconds, so take the middle of that second.
      var date = Date.parse(response.headers.get("Date"));
      if (!isNaN(date)) skew = date + 500 - Date.now();
      var signature = response.headers.get("Feedserver-JWS");
      return response.arrayBuffer().then(function (body) {
        return verify(signature, new Uint8Array(body)).then(function (ok) {
          if (!ok) { refuse("document"); throw new Error("signature"); }
          return JSON.parse(new TextDecoder().decode(body));
        });
      });
    }).then(function (doc) {
      // A push that arrived while this poll was under way is newer than its answer.
      if (started >= lastPush) snapshot(doc);
      schedule(doc.poll_after_seconds);
    }).catch(function () { schedule(settings.poll_seconds); });
  }

  function schedule(seconds) {
    setTimeout(poll, Math.max(1, seconds || settings.poll_seconds) * 1000);
  }

  function pushedMessage(apply) {
    return function (e) {
      var message = JSON.parse(e.data);
      pushed = pushed.then(function () {
        return verifyMessage(message).then(function (ok) {
          if (ok) apply(message); else refuse("envelope");
        });
      });
    };
  }

  function follow() {
    if (!window.EventSource) return;
    var source = new EventSource(settings.events);
    source.addEventListener("snapshot", pushedMessage(snapshot));
    TYPES.forEach(function (type) { source.addEventListener(type, pushedMessage(change)); });
    source.onerror = function () {
      // The browser reconnects by itself with Last-Event-ID, unless the server refused us;
      // then try again later. Meanwhile polling keeps the screen right.
      if (source.readyState === EventSource.CLOSED) setTimeout(follow, 30000);
    };
  }

  if (!keys) refuse("no-webcrypto");
  setInterval(show, 1000);
  setInterval(function () { index++; show(); }, settings.rotate_seconds * 1000);
  follow();
  poll();
})();
