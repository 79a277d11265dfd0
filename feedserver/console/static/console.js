/* feedserver console: the alert page's form, rules check, preview wall, photos, actions and
   history. Plain JavaScript, no build step, no library; every change goes through the /v1 API
   with the session cookie and the page's CSRF token. */
"use strict";
(function () {
  var form = document.getElementById("alert-form");
  if (!form) { return; }
  var settings = JSON.parse(document.getElementById("console-settings").textContent);
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var CSRF = csrfMeta ? csrfMeta.content : "";
  var T = settings.texts;
  var GROUPS = ["children", "suspects", "vehicles"];
  var state = {alert: null, base: null, etag: null, tiles: [], busy: false};
  var $ = function (id) { return document.getElementById(id); };

  function t(key, values) {
    return (T[key] || key).replace(/\{(\w+)\}/g, function (_, name) {
      return values && name in values ? String(values[name]) : "{" + name + "}";
    });
  }

  function api(method, url, body, headers) {
    // no-store: a page reached by Back must not be filled from a cached, older alert
    var init = {method: method, credentials: "same-origin", cache: "no-store",
                headers: headers || {}};
    if (method !== "GET") { init.headers["X-CSRF-Token"] = CSRF; }
    if (body instanceof Blob) {
      init.body = body;
      init.headers["Content-Type"] = body.type;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = init.headers["Content-Type"] || "application/json";
    }
    return fetch(url, init).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      var read = type.indexOf("json") >= 0 ? response.json() : Promise.resolve(null);
      return read.then(function (data) {
        return {status: response.status, data: data, etag: response.headers.get("ETag")};
      });
    });
  }

  function say(text, kind) {
    var box = $("messages");
    box.textContent = "";
    if (!text) { return; }
    var p = document.createElement("p");
    p.className = kind || "problem";
    p.textContent = text;
    box.appendChild(p);
  }

  function refused(result) {
    var error = result.data && result.data.error;
    say(t("error", {message: error ? error.message : "HTTP " + result.status}));
  }

  // ---- reading and filling the form ------------------------------------------------------
  function inHiddenSlot(element) {
    var slot = element.closest("[data-group]");
    return slot !== null && slot.hidden;
  }

  function localTime(value) {
    if (!value) { return null; }
    var moment = new Date(value);
    return isNaN(moment.getTime()) ? value : moment.toISOString();
  }

  function toLocalInput(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function valueOf(element) {
    var text = element.value.trim();
    switch (element.dataset.type) {
      case "int": return text === "" ? null : parseInt(text, 10);
      case "number": return text === "" ? null : parseFloat(text);
      case "list": return text.split(",").map(function (s) { return s.trim(); })
        .filter(function (s) { return s; });
      case "time": return localTime(text);
      default: return text === "" ? null : text;
    }
  }

  function put(target, path, value) {
    for (var i = 0; i < path.length - 1; i++) {
      var key = path[i];
      if (target[key] === undefined) { target[key] = /^\d+$/.test(path[i + 1]) ? [] : {}; }
      target = target[key];
    }
    target[path[path.length - 1]] = value;
  }

  function empty(value) {
    if (value === null || value === undefined) { return true; }
    if (Array.isArray(value)) { return value.every(empty); }
    if (typeof value === "object") { return Object.keys(value).every(function (k) { return empty(value[k]); }); }
    return false;
  }

  function readForm() {
    var doc = {languages: [], test: false};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || inHiddenSlot(element)) { return; }
      if (element.name === "languages") {
        if (element.checked) { doc.languages.push(element.value); }
      } else if (element.type === "checkbox") {
        doc[element.name] = element.checked;
      } else {
        put(doc, element.name.split("."), valueOf(element));
      }
    });
    GROUPS.forEach(function (group) {
      doc[group] = (doc[group] || []).filter(function (entry, i) {
        return entry !== undefined && (group === "children" && i === 0 || !empty(entry));
      });
    });
    ["last_seen", "contact", "policy_override"].forEach(function (key) {
      if (empty(doc[key])) { doc[key] = null; }
    });
    // the form edits the first circle; further circles and polygons (from CAP or the
    // national list) are kept as they are
    var circle = doc.area && doc.area.circles[0];
    var kept = (state.base && state.base.area) || {circles: [], polygons: []};
    var circles = (kept.circles || []).slice(1);
    if (circle && circle.lat !== null && circle.lon !== null && circle.radius_km !== null) {
      circles.unshift(circle);
    }
    var polygons = kept.polygons || [];
    doc.area = circles.length || polygons.length ? {circles: circles, polygons: polygons} : null;
    return doc;
  }

  function withoutNulls(doc) {
    var out = {};
    Object.keys(doc).forEach(function (key) {
      if (doc[key] !== null) { out[key] = doc[key]; }
    });
    return out;
  }

  function get(source, path) {
    for (var i = 0; i < path.length; i++) {
      if (source === null || source === undefined) { return undefined; }
      source = source[path[i]];
    }
    return source;
  }

  function showSlots(group, count) {
    document.querySelectorAll('[data-group="' + group + '"]').forEach(function (slot, i) {
      slot.hidden = !(i < count || (group === "children" && i === 0));
    });
    updateAddButtons();
  }

  function fillForm(alert) {
    GROUPS.forEach(function (group) { showSlots(group, (alert[group] || []).length); });
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name) { return; }
      if (element.name === "languages") {
        element.checked = alert.languages.indexOf(element.value) >= 0;
        return;
      }
      var value = get(alert, element.name.split("."));
      if (element.type === "checkbox") { element.checked = !!value; return; }
      if (element.dataset.type === "list") { value = (value || []).join(", "); }
      if (element.dataset.type === "time") { value = toLocalInput(value); }
      element.value = value === null || value === undefined ? "" : value;
    });
    var area = alert.area || {circles: [], polygons: []};
    var more = Math.max((area.circles || []).length - 1, 0) + (area.polygons || []).length;
    $("area-more").hidden = !more;
    $("area-more").textContent = t("area_more", {n: more});
    document.querySelectorAll("[data-photo]").forEach(function (box) {
      var id = get(alert, box.dataset.photo.split("."));
      showPhoto(box, id || null, id ? "/v1/photos/" + id : null, null);
    });
  }

  // ---- repeatable groups -----------------------------------------------------------------
  function updateAddButtons() {
    document.querySelectorAll("[data-add]").forEach(function (button) {
      var slots = document.querySelectorAll('[data-group="' + button.dataset.add + '"]');
      button.hidden = Array.prototype.every.call(slots, function (s) { return !s.hidden; });
    });
  }

  document.querySelectorAll("[data-add]").forEach(function (button) {
    button.addEventListener("click", function () {
      var slot = document.querySelector('[data-group="' + button.dataset.add + '"][hidden]');
      if (!slot) { return; }
      slot.hidden = false;
      var first = slot.querySelector("input, select, textarea");
      if (first) { first.focus(); }
      updateAddButtons();
      changed();
    });
  });

  document.querySelectorAll("[data-remove]").forEach(function (button) {
    button.addEventListener("click", function () {
      var slot = button.closest("[data-group]");
      slot.querySelectorAll("input, select, textarea").forEach(function (el) {
        if (el.type !== "file") { el.value = ""; }
      });
      slot.querySelectorAll("[data-photo]").forEach(function (box) { showPhoto(box, null, null, null); });
      slot.hidden = true;
      updateAddButtons();
      document.querySelector('[data-add="' + slot.dataset.group + '"]').focus();
      changed();
    });
  });

  // ---- photos: upload, focus point by clicking -------------------------------------------
  var blobs = new WeakMap();

  function showPhoto(box, id, src, focus) {
    box.querySelector('input[type="hidden"]').value = id || "";
    var view = box.querySelector("[data-photo-view]");
    view.hidden = !id;
    if (src) { box.querySelector("[data-photo-img]").src = src; }
    var mark = box.querySelector("[data-focus-mark]");
    mark.hidden = !focus;
    box.querySelector('[data-focus="x"]').value = focus ? Math.round(focus[0] * 100) : "";
    box.querySelector('[data-focus="y"]').value = focus ? Math.round(focus[1] * 100) : "";
    if (focus) {
      mark.style.left = focus[0] * 100 + "%";
      mark.style.top = focus[1] * 100 + "%";
    }
    if (!id) { blobs.delete(box); box.querySelector("[data-photo-status]").textContent = ""; }
  }

  function upload(box, blob, focus) {
    var status = box.querySelector("[data-photo-status]");
    status.textContent = t("photo_uploading");
    var query = focus ? "?focus=" + focus[0].toFixed(3) + "," + focus[1].toFixed(3) : "";
    return api("POST", "/v1/photos" + query, blob).then(function (result) {
      if (result.status !== 201) {
        status.textContent = t("error", {message: result.data ? result.data.error.message : result.status});
        return;
      }
      blobs.set(box, blob);
      showPhoto(box, result.data.id, URL.createObjectURL(blob), result.data.focus);
      status.textContent = focus ? t("photo_ready", {x: Math.round(focus[0] * 100), y: Math.round(focus[1] * 100)})
        : t("photo_ready", {x: "–", y: "–"});
      changed();
    });
  }

  function photoBlob(box) {
    if (blobs.has(box)) { return Promise.resolve(blobs.get(box)); }
    var id = box.querySelector('input[type="hidden"]').value;
    return fetch("/v1/photos/" + id, {credentials: "same-origin"}).then(function (r) { return r.blob(); });
  }

  document.querySelectorAll("[data-photo]").forEach(function (box) {
    var file = box.querySelector("[data-photo-file]");
    var drop = box.querySelector("[data-drop]");
    file.addEventListener("change", function () {
      if (file.files.length) { upload(box, file.files[0], null); }
    });
    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (event) { event.preventDefault(); drop.classList.add("over"); });
    });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      drop.classList.remove("over");
      if (event.dataTransfer.files.length) { upload(box, event.dataTransfer.files[0], null); }
    });
    var image = box.querySelector("[data-photo-img]");
    image.addEventListener("click", function (event) {
      var rect = image.getBoundingClientRect();
      var focus = [Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1),
                   Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 1)];
      photoBlob(box).then(function (blob) { upload(box, blob, focus); });
    });
    box.querySelectorAll("[data-focus]").forEach(function (input) {
      input.addEventListener("change", function () {
        var x = box.querySelector('[data-focus="x"]').value;
        var y = box.querySelector('[data-focus="y"]').value;
        if (x === "" || y === "") { return; }
        var focus = [Math.min(Math.max(x / 100, 0), 1), Math.min(Math.max(y / 100, 0), 1)];
        photoBlob(box).then(function (blob) { upload(box, blob, focus); });
      });
    });
    box.querySelector("[data-photo-remove]").addEventListener("click", function () {
      showPhoto(box, null, null, null);
      file.value = "";
      file.focus();
      changed();
    });
  });

  // ---- the rules, checked as the form is filled ------------------------------------------
  function fieldElement(field) {
    var name = field.replace(/\[(\d+)\]/g, ".$1");
    var id = "f-" + name.replace(/\./g, "-");
    return document.getElementById(id + "-problem") ? id : null;
  }

  function showProblems(errors) {
    document.querySelectorAll(".field-problem").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    document.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    var box = $("problems");
    box.textContent = "";
    if (!errors.length) {
      var ok = document.createElement("p");
      ok.textContent = t("no_problems");
      box.appendChild(ok);
      return;
    }
    var list = document.createElement("ul");
    errors.forEach(function (error) {
      var item = document.createElement("li");
      var id = fieldElement(error.field);
      var text = error.field + ": " + error.message;
      if (id) {
        var problem = document.getElementById(id + "-problem");
        problem.hidden = false;
        problem.textContent = "⚠ " + error.message;
        var input = document.getElementById(id);
        if (input) { input.setAttribute("aria-invalid", "true"); }
        var link = document.createElement("a");
        link.href = "#" + (input ? id : id + "-problem");
        link.textContent = text;
        item.appendChild(link);
      } else {
        item.textContent = text;
      }
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  var checkSeq = 0;
  function check() {
    var seq = ++checkSeq;
    return api("POST", "/v1/alerts/validate", withoutNulls(readForm())).then(function (result) {
      if (seq !== checkSeq) { return; }
      if (result.status === 200) { showProblems(result.data.errors); } else { refused(result); }
    });
  }

  // ---- the preview wall ------------------------------------------------------------------
  var wallSeq = 0;
  function preview() {
    var seq = ++wallSeq;
    return api("POST", "/v1/previews", withoutNulls(readForm())).then(function (result) {
      if (seq !== wallSeq) { return; }
      if (result.status !== 200) {
        var error = result.data && result.data.error;
        $("wall-status").textContent = t("preview_failed", {message: error ? error.message : result.status});
        return;
      }
      state.tiles = result.data.tiles;
      drawWall(result.data.tiles);
      drawFeeds();
    });
  }

  function tileNotes(tile) {
    var notes = [tile.reaches ? t("reaches") : t("not_reached")];
    if (tile.smallest_text_px !== null) { notes.push(t("smallest_text", {px: tile.smallest_text_px})); }
    if (tile.lowest_contrast !== null) { notes.push(t("lowest_contrast", {ratio: tile.lowest_contrast})); }
    return notes;
  }

  function drawWall(tiles) {
    var wall = $("wall");
    wall.textContent = "";
    tiles.forEach(function (tile) {
      var item = document.createElement("li");
      item.className = "tile" + (tile.reaches ? "" : " unreached");
      var open = document.createElement("button");
      open.type = "button";
      open.className = "tile-open";
      open.setAttribute("aria-label", t("full_size", {network: tile.network, profile: tile.profile}));
      var size = tile.size.split("x");
      var image = document.createElement("img");
      image.src = tile.image;
      image.alt = "";
      image.width = size[0];
      image.height = size[1];
      open.appendChild(image);
      open.addEventListener("click", function () { openTile(tile); });
      var caption = document.createElement("p");
      caption.className = "tile-caption";
      caption.textContent = tile.network_name + " / " + tile.profile + " · " + tile.size +
        " · " + tile.languages.join("+");
      var notes = document.createElement("p");
      notes.className = "tile-notes";
      notes.textContent = tileNotes(tile).join(" · ");
      item.appendChild(open);
      item.appendChild(caption);
      item.appendChild(notes);
      var warnings = document.createElement("ul");
      warnings.className = "tile-warnings";
      (tile.warnings.length ? tile.warnings : [t("no_warnings")]).forEach(function (text) {
        var w = document.createElement("li");
        w.textContent = (tile.warnings.length ? "⚠ " : "✓ ") + text;
        warnings.appendChild(w);
      });
      item.appendChild(warnings);
      wall.appendChild(item);
    });
    $("wall-status").textContent = t("wall_count", {n: tiles.length});
  }

  function openTile(tile) {
    $("tile-title").textContent = t("full_size", {network: tile.network_name, profile: tile.profile}) + " (" + tile.size + ")";
    var image = $("tile-image");
    image.src = tile.image;
    image.alt = tile.network_name + " / " + tile.profile;
    var list = $("tile-warnings");
    list.textContent = "";
    tileNotes(tile).concat(tile.warnings).forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      list.appendChild(li);
    });
    $("tile-dialog").showModal();
    $("tile-close").focus();
  }
  $("tile-close").addEventListener("click", function () { $("tile-dialog").close(); });

  var timer = null;
  function changed() {
    clearTimeout(timer);
    timer = setTimeout(function () { check(); preview(); }, 600);
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);

  // ---- the alert as stored: summary, actions, history, feeds -----------------------------
  function inputFields(alert) {
    var keys = ["kind", "circumstance", "test", "regions", "area", "languages", "children", "suspects",
                "vehicles", "last_seen", "message", "contact", "expires_at", "policy_override"];
    var out = {};
    keys.forEach(function (key) { if (key in alert) { out[key] = alert[key]; } });
    return out;
  }

  function setAlert(alert, etag) {
    state.alert = alert;
    state.base = inputFields(alert);
    state.etag = etag || '"v' + alert.version + '"';
    if (location.pathname !== "/console/alerts/" + alert.id) {
      history.replaceState(null, "", "/console/alerts/" + alert.id);
    }
    var title = alert.headline[document.documentElement.lang] || Object.values(alert.headline)[0] || alert.id;
    $("alert-title").textContent = title;
    document.title = title + " — feedserver";
    $("alert-summary").hidden = false;
    $("alert-status").textContent = T["status_" + alert.status];
    $("alert-status").className = "status status-" + alert.status;
    $("alert-version").textContent = alert.version;
    var blocked = alert.may_not_publish || [];
    var eyes = $("four-eyes");
    eyes.hidden = !blocked.length;
    eyes.textContent = blocked.indexOf(settings.name) >= 0 ? t("needs_second_you")
      : t("needs_second", {names: blocked.join(", ")});
    var live = alert.status === "active";
    var open = alert.status === "draft" || live;
    var editable = open && settings.can_edit && (!live || settings.can_publish);
    $("form-fields").disabled = !editable;
    $("read-only").hidden = editable;
    $("save").hidden = !editable;
    $("save").textContent = live ? T.update_live : T.save_changes;
    $("actions").hidden = !(settings.can_publish && open);
    $("publish").hidden = alert.status !== "draft";
    $("resolve-box").hidden = !live;
    $("cancel-box").hidden = !open;
    loadHistory();
    drawFeeds();
  }

  function loadHistory() {
    if (!state.alert) { return; }
    api("GET", "/v1/alerts/" + state.alert.id + "/history").then(function (result) {
      if (result.status !== 200) { return; }
      var list = $("timeline");
      list.textContent = "";
      result.data.history.slice().reverse().forEach(function (entry) {
        var item = document.createElement("li");
        var time = document.createElement("time");
        time.dateTime = entry.at;
        time.textContent = new Date(entry.at).toLocaleString(document.documentElement.lang);
        item.appendChild(time);
        var text = document.createElement("span");
        text.textContent = " " + t("history_entry", {version: entry.version,
          action: T["action_" + entry.action] || entry.action, actor: entry.actor});
        item.appendChild(text);
        if (entry.note) {
          var note = document.createElement("span");
          note.className = "note";
          note.textContent = " — " + Object.keys(entry.note).map(function (key) {
            var value = entry.note[key];
            if (T["note_" + key]) {
              var values = {};
              values[key] = value;
              return t("note_" + key, typeof value === "object" ? value : values);
            }
            return key + ": " + (typeof value === "object" ? Object.values(value).join(", ") : value);
          }).join("; ");
          item.appendChild(note);
        }
        list.appendChild(item);
      });
      $("history").hidden = false;
    });
  }

  function drawFeeds() {
    var shown = state.alert && (state.alert.status === "active" || state.alert.status === "resolved");
    $("feeds").hidden = !shown;
    if (!shown) { return; }
    var list = $("feed-links");
    list.textContent = "";
    state.tiles.filter(function (tile) { return tile.reaches; }).forEach(function (tile) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/v1/feeds/" + encodeURIComponent(tile.network) + "/" + encodeURIComponent(tile.profile);
      link.textContent = tile.network_name + " / " + tile.profile;
      item.appendChild(link);
      list.appendChild(item);
    });
  }

  // ---- saving, with If-Match; a conflict shows what changed ------------------------------
  function flatten(value, prefix, out) {
    if (value !== null && typeof value === "object") {
      Object.keys(value).forEach(function (key) {
        flatten(value[key], prefix ? prefix + "." + key : key, out);
      });
    } else if (value !== null && value !== undefined && value !== "") {
      out[prefix] = String(value);
    }
    return out;
  }

  function showConflict(current) {
    var before = flatten(state.base, "", {});
    var now = flatten(inputFields(current), "", {});
    var rows = $("conflict-rows");
    rows.textContent = "";
    Object.keys(Object.assign({}, before, now)).sort().forEach(function (key) {
      if (before[key] === now[key]) { return; }
      var row = document.createElement("tr");
      [key, before[key] || "—", now[key] || "—"].forEach(function (text, i) {
        var cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) { cell.scope = "row"; }
        cell.textContent = text;
        row.appendChild(cell);
      });
      rows.appendChild(row);
    });
    $("conflict-text").textContent = t("conflict", {version: current.version});
    $("conflict").hidden = false;
    state.conflict = current;
    $("conflict-take").focus();
  }

  $("conflict-take").addEventListener("click", function () {
    var current = state.conflict;
    $("conflict").hidden = true;
    setAlert(current);
    fillForm(current);
    changed();
  });
  $("conflict-keep").addEventListener("click", function () {
    var current = state.conflict;
    $("conflict").hidden = true;
    state.base = inputFields(current);
    state.etag = '"v' + current.version + '"';
    save(state.patch);  // only this form's own changes, now on top of theirs
  });

  function afterChange(result, okStatus, done) {
    if (result.status === okStatus) {
      say(t(done || "saved", {version: result.data.version}), "note");
      fillForm(result.data);  // what is stored (and live) now, server defaults included
      setAlert(result.data, result.etag);
      return true;
    }
    if (result.status === 412) {
      api("GET", "/v1/alerts/" + state.alert.id).then(function (current) {
        if (current.status === 200) { showConflict(current.data); }
      });
      return false;
    }
    if (result.status === 422 && result.data) { showProblems(result.data.error.details || []); }
    refused(result);
    return false;
  }

  var TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

  function same(a, b) {
    if (empty(a) && empty(b)) { return true; }
    if (typeof a === "string" && typeof b === "string" && TIME.test(a) && TIME.test(b)) {
      return Math.floor(Date.parse(a) / 60000) === Math.floor(Date.parse(b) / 60000);
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      return a.length === b.length && a.every(function (item, i) { return same(item, b[i]); });
    }
    if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
      return Object.keys(Object.assign({}, a, b)).every(function (k) { return same(a[k], b[k]); });
    }
    return a === b;
  }

  // A JSON merge patch (RFC 7396) of what the form changed since `base`: only those fields
  // are sent, so another person's change to a field this form left alone is never undone.
  function changes(base, doc) {
    var patch = {};
    Object.keys(Object.assign({}, base, doc)).forEach(function (key) {
      var before = base ? base[key] : undefined;
      var after = doc[key];
      if (same(before, after)) { return; }
      var objects = before && after && typeof before === "object" && typeof after === "object" &&
        !Array.isArray(before) && !Array.isArray(after);
      patch[key] = objects ? changes(before, after) : (empty(after) ? null : after);
    });
    return patch;
  }

  function save(patch) {
    if (!state.alert) {
      return api("POST", "/v1/alerts", withoutNulls(readForm())).then(function (r) { afterChange(r, 201); });
    }
    patch = patch || changes(state.base, readForm());
    if (!Object.keys(patch).length) {
      say(t("nothing_changed"), "note");
      return Promise.resolve();
    }
    state.patch = patch;
    return api("PATCH", "/v1/alerts/" + state.alert.id, patch,
      {"Content-Type": "application/merge-patch+json", "If-Match": state.etag})
      .then(function (r) { afterChange(r, 200); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.alert && state.alert.status === "active") {
      confirmThen(T.confirm_update, save);
    } else {
      save();
    }
  });

  // ---- lifecycle actions behind a confirmation that says what they reach ------------------
  function reachText() {
    var reached = state.tiles.filter(function (tile) { return tile.reaches; });
    var networks = {};
    reached.forEach(function (tile) { networks[tile.network] = true; });
    var screens = state.alert ? api("GET", "/v1/alerts/" + state.alert.id + "/receipts")
      .then(function (r) { return r.status === 200 ? r.data.screens : 0; }) : Promise.resolve(0);
    return screens.then(function (count) {
      return t("confirm_reach", {networks: Object.keys(networks).length, profiles: reached.length,
                                 screens: count});
    });
  }

  var pending = null;
  function confirmThen(title, action) {
    preview().then(reachText).then(function (text) {
      $("confirm-title").textContent = title;
      $("confirm-text").textContent = text;
      pending = action;
      $("confirm-dialog").showModal();
      $("confirm-no").focus();
    });
  }
  $("confirm-yes").addEventListener("click", function () {
    $("confirm-dialog").close();
    var action = pending;
    pending = null;
    if (action) { action(); }
  });
  $("confirm-no").addEventListener("click", function () { pending = null; $("confirm-dialog").close(); });

  function lifecycle(verb, body) {
    return api("POST", "/v1/alerts/" + state.alert.id + "/" + verb, body, {"If-Match": state.etag})
      .then(function (r) { afterChange(r, 200, "done_" + verb); });
  }

  $("publish").addEventListener("click", function () {
    confirmThen(T.confirm_publish, function () { lifecycle("publish"); });
  });
  $("resolve").addEventListener("click", function () {
    var message = {};
    document.querySelectorAll("[data-found]").forEach(function (area) {
      if (area.value.trim()) { message[area.dataset.found] = area.value.trim(); }
    });
    confirmThen(T.confirm_resolve, function () { lifecycle("resolve", {message: message}); });
  });
  $("cancel").addEventListener("click", function () {
    var reason = $("f-cancel-reason").value.trim();
    confirmThen(T.confirm_cancel, function () { lifecycle("cancel", {reason: reason}); });
  });

  // ---- start -------------------------------------------------------------------------------
  updateAddButtons();
  if (!settings.can_edit) {
    $("form-fields").disabled = true;
    $("read-only").hidden = false;
    $("save").hidden = true;
  }
  if (settings.alert) {
    api("GET", "/v1/alerts/" + settings.alert).then(function (result) {
      if (result.status !== 200) { refused(result); return; }
      fillForm(result.data);
      setAlert(result.data, result.etag);
      check();
      preview();
    });
  } else {
    check();
    preview();
  }
})();
