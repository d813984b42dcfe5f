// rsclip-search web page: plain JS over the REST API of the same server (no framework, no CDN).
"use strict";

const PAGE_SIZE = 24;
const $ = (selector, root = document) => root.querySelector(selector);

// What the results grid currently shows, so "More results" can ask for the next page.
const search = { mode: null, query: "", file: null, similarId: null, offset: 0 };
let shownImage = null;
let shownResults = []; // what the grid shows, for the footprint map's context

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : response.statusText;
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

function setStatus(element, text, isError = false) {
  element.textContent = text;
  element.classList.toggle("error", isError);
}

function baseName(path) {
  return path.split(/[\\/]/).pop();
}

// -- search -------------------------------------------------------------------
// The place and time filters that are filled in (every search mode takes them).
function searchFilters() {
  const values = {
    bbox: $("#filter-bbox").value.replace(/\s+/g, ""),
    date_from: $("#filter-from").value,
    date_to: $("#filter-to").value,
    source: $("#filter-source").value.trim(),
  };
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value));
}

function searchRequest() {
  const paging = { k: PAGE_SIZE, offset: search.offset };
  const filters = searchFilters();
  if (search.mode === "text") {
    return api("/search/text", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query: search.query, ...paging, ...filters }),
    });
  }
  if (search.mode === "image") {
    const form = new FormData();
    form.append("file", search.file);
    Object.entries({ ...paging, ...filters }).forEach(([name, value]) => form.append(name, value));
    return api("/search/image", { method: "POST", body: form });
  }
  return api(`/search/similar/${search.similarId}?${new URLSearchParams({ ...paging, ...filters })}`);
}

function describeSearch() {
  if (search.mode === "text") return `“${search.query}”`;
  if (search.mode === "image") return `images like ${search.file.name}`;
  return `more like #${search.similarId}`;
}

async function runSearch(fresh) {
  const status = $("#status");
  const grid = $("#results");
  if (fresh) {
    search.offset = 0;
    shownResults = [];
    grid.replaceChildren();
  }
  setStatus(status, `Searching ${describeSearch()}…`);
  $("#more").hidden = true;
  try {
    const body = await searchRequest();
    body.results.forEach((result) => grid.append(resultCard(result)));
    shownResults = shownResults.concat(body.results);
    search.offset += body.results.length;
    const shown = grid.children.length;
    setStatus(status, shown ? `${shown} result${shown === 1 ? "" : "s"} for ${describeSearch()}` : `No results for ${describeSearch()}`);
    $("#more").hidden = body.results.length < PAGE_SIZE;
  } catch (error) {
    setStatus(status, error.message, true);
  }
}

function resultCard(result) {
  const card = document.createElement("button");
  card.type = "button";
  card.className = "result";
  card.dataset.id = result.id;
  card.title = result.location;
  const image = document.createElement("img");
  image.src = result.thumbnail_url;
  image.alt = baseName(result.member);
  image.loading = "lazy";
  const caption = document.createElement("span");
  caption.className = "caption";
  const score = document.createElement("b");
  score.className = "score";
  score.textContent = result.score.toFixed(3);
  const name = document.createElement("span");
  name.textContent = baseName(result.member);
  caption.append(score, name);
  card.append(image, caption);
  card.addEventListener("click", () => openDetail(result));
  return card;
}

function startSearch(mode, values) {
  Object.assign(search, { mode, file: null, similarId: null }, values);
  activateTab("search");
  runSearch(true);
}

// -- detail view ----------------------------------------------------------------
function openDetail(image) {
  shownImage = image;
  $("#detail-image").src = `${image.thumbnail_url}?size=768`;
  $("#detail-image").alt = image.location;
  $("#detail-title").textContent = `#${image.id} ${baseName(image.member)}`;
  $("#open-original").href = image.image_url;
  const rows = [
    ["score", image.score === undefined ? "–" : image.score.toFixed(4)],
    ["source", image.source],
    ["member", image.member],
    ["size", `${image.width} × ${image.height} px`],
    ["format", `${image.format}, ${(image.byte_size / 1024).toFixed(1)} KiB`],
    ["indexed", new Date(image.added_at).toLocaleString()],
    ["sha256", image.sha256],
    ...geoRows(image.geo),
  ];
  $("#detail-meta").replaceChildren(
    ...rows.flatMap(([term, value]) => {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      return [dt, dd];
    }),
  );
  $("#detail").showModal();
  showFootprints($("#detail-map"), image, shownResults);
}

function geoRows(geo) {
  if (!geo) return [];
  const { x, y, width, height } = geo.window;
  const rows = [
    ["scene", geo.scene],
    ["window", `x ${x}, y ${y}, ${width} × ${height} px`],
    ["bands", geo.bands],
  ];
  if (geo.acquired) rows.push(["acquired", geo.acquired]);
  if (geo.sensor) rows.push(["sensor", geo.sensor]);
  if (geo.crs) rows.push(["crs", geo.crs]);
  if (geo.resolution_m) rows.push(["resolution", `${geo.resolution_m.toFixed(2)} m`]);
  if (geo.bbox) rows.push(["bbox", geo.bbox.map((v) => v.toFixed(5)).join(", ")]);
  return rows;
}

// -- classify and similarity ---------------------------------------------------------
function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

function imageForm(form) {
  const body = new FormData();
  const file = form.elements.file.files[0];
  if (file) body.append("file", file);
  else if (form.elements.image_id.value) body.append("image_id", form.elements.image_id.value);
  return body;
}

function renderBars(list, rows) {
  list.replaceChildren(
    ...rows.map(({ name, probability, score }) => {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.className = "bar-label";
      label.textContent = name;
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.setProperty("--p", probability);
      const value = document.createElement("span");
      value.className = "bar-value";
      value.textContent = `${(probability * 100).toFixed(1)} %  (cos ${score.toFixed(3)})`;
      item.append(label, bar, value);
      return item;
    }),
  );
}

function askForm(formId, path, field, toRows) {
  const form = $(formId);
  const status = $(".status", form.parentElement);
  const list = $("ol.bars", form.parentElement);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = imageForm(form);
    lines(form.elements[field].value).forEach((text) => body.append(field, text));
    if (form.elements.template) body.append("template", form.elements.template.value);
    setStatus(status, "Asking the model…");
    try {
      const answer = await api(path, { method: "POST", body });
      renderBars(list, toRows(answer));
      setStatus(status, answer.image_id ? `Image #${answer.image_id}` : "Uploaded image");
    } catch (error) {
      list.replaceChildren();
      setStatus(status, error.message, true);
    }
  });
}

// -- tabs, wiring ----------------------------------------------------------------
function activateTab(name) {
  document.querySelectorAll("[role=tab]").forEach((tab) => {
    const selected = tab.dataset.panel === name;
    tab.setAttribute("aria-selected", String(selected));
    $(`#panel-${tab.dataset.panel}`).hidden = !selected;
  });
}

function choosePhoto(file) {
  if (!file) return;
  const preview = $("#photo-preview");
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  startSearch("image", { file });
}

function wire() {
  document.querySelectorAll("[role=tab]").forEach((tab) =>
    tab.addEventListener("click", () => activateTab(tab.dataset.panel)),
  );
  $("#text-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("#query").value.trim();
    if (!query) return setStatus($("#status"), "Type what you are looking for first.", true);
    startSearch("text", { query });
  });
  $("#photo").addEventListener("change", (event) => choosePhoto(event.target.files[0]));
  const zone = $("#drop-zone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    choosePhoto(event.dataTransfer.files[0]);
  });
  $("#more").addEventListener("click", () => runSearch(false));
  $("#filters").addEventListener("input", () => {
    const count = Object.keys(searchFilters()).length;
    $("#filter-summary").textContent = count ? `(${count} set)` : "";
  });
  $("#close-detail").addEventListener("click", () => $("#detail").close());
  $("#more-like-this").addEventListener("click", () => {
    $("#detail").close();
    startSearch("similar", { similarId: shownImage.id });
  });
  $("#classify-this").addEventListener("click", () => {
    $("#detail").close();
    const form = $("#classify-form");
    form.elements.file.value = "";
    form.elements.image_id.value = shownImage.id;
    activateTab("classify");
    form.requestSubmit();
  });
  askForm("#classify-form", "/classify", "labels", (answer) =>
    answer.results.map((r) => ({ name: r.label, probability: r.probability, score: r.score })),
  );
  askForm("#similarity-form", "/similarity", "texts", (answer) =>
    answer.results.map((r) => ({ name: r.text, probability: r.probability, score: r.score })),
  );
  api("/stats")
    .then((stats) => {
      const model = (stats.model || "no model").split("/").pop();
      $("#stats").textContent = `${stats.items} images · ${model} · ${stats.dimension}-d`;
      $("#random-weights").hidden = !stats.model_random_weights;
    })
    .catch((error) => setStatus($("#stats"), error.message, true));
}

wire();
