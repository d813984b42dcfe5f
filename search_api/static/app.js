// rsclip-search web page: plain JS over the REST API of the same server (no framework, no CDN).
// Words come from i18n.js (t, explainError); maps from results_map.js and embedding_map.js.
"use strict";

const PAGE_SIZE = 24;
const STATS_EVERY_MS = 10_000; // the server follows new items by itself; so does the header
const $ = (selector, root = document) => root.querySelector(selector);

// What the results grid currently shows, so "More results" can ask for the next page.
const search = { mode: null, query: "", file: null, similarId: null, offset: 0 };
let shownImage = null;
let shownResults = []; // what the grid shows, for the maps
let lastStats = null;

async function send(path, options) {
  try {
    return await fetch(path, options);
  } catch (error) {
    throw new NetworkError(error.message);
  }
}

async function api(path, options = {}) {
  const response = await send(path, options);
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  return response.json();
}

// The server's rendering of an uploaded file (what the search reads; browsers cannot draw TIFF).
async function previewUrl(file) {
  const form = new FormData();
  form.append("file", file);
  const response = await send("/images/preview", { method: "POST", body: form });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  return URL.createObjectURL(await response.blob());
}

function showPicture(img, url) {
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  if (url) img.src = url;
  else img.removeAttribute("src");
  img.hidden = !url;
}

// A status line keeps what it says as (key, values) so a language switch rewords it.
function setStatus(element, key, values = {}, isError = false) {
  element.dataset.key = key;
  element.dataset.values = JSON.stringify(values);
  element.textContent = key ? t(key, values) : "";
  element.classList.toggle("error", isError);
}

function setError(element, error) {
  element.dataset.key = "";
  element.textContent = explainError(error);
  element.classList.add("error");
  element.errorObject = error;
}

function rewordStatuses() {
  document.querySelectorAll(".status, [data-key]").forEach((element) => {
    if (element.dataset.key) element.textContent = t(element.dataset.key, JSON.parse(element.dataset.values || "{}"));
    else if (element.errorObject) element.textContent = explainError(element.errorObject);
  });
}

function baseName(path) {
  return path.split(/[\\/!]/).pop();
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
  if (search.mode === "text") return t("describe.text", { query: search.query });
  if (search.mode === "image") return t("describe.image", { name: search.file.name });
  return t("describe.similar", { id: search.similarId });
}

async function runSearch(fresh) {
  if (!search.mode) return;
  const status = $("#status");
  const grid = $("#results");
  if (fresh) {
    search.offset = 0;
    shownResults = [];
    grid.replaceChildren();
    showResultsMap([]);
  }
  setStatus(status, "status.searching", { what: describeSearch() });
  $("#more").hidden = true;
  try {
    const body = await searchRequest();
    body.results.forEach((result) => grid.append(resultCard(result)));
    shownResults = shownResults.concat(body.results);
    search.offset += body.results.length;
    const count = grid.children.length;
    const key = count === 0 ? "status.none" : count === 1 ? "status.oneResult" : "status.results";
    setStatus(status, key, { count, what: describeSearch() });
    $("#more").hidden = body.results.length < PAGE_SIZE;
    showResultsMap(shownResults);
    refreshStats(); // the server may be serving new items: say so now, not at the next tick
  } catch (error) {
    setError(status, error);
    if (search.mode === "image") showPicture($("#photo-preview"), null); // no stale preview of a refused file
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
  image.alt = baseName(result.member || result.location);
  image.loading = "lazy";
  const caption = document.createElement("span");
  caption.className = "caption";
  const score = document.createElement("b");
  score.className = "score";
  score.textContent = result.score.toFixed(3);
  const name = document.createElement("span");
  name.textContent = image.alt;
  caption.append(score, name);
  card.append(image, caption);
  card.addEventListener("click", () => openDetail(result));
  linkCardToMap(card, result.id);
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
  $("#detail-title").textContent = `#${image.id} ${baseName(image.member || image.location)}`;
  $("#open-original").href = image.image_url;
  const rows = [
    ["score", image.score === undefined ? "–" : image.score.toFixed(4)],
    ["source", image.source],
    ["member", image.member],
    ["size", `${image.width} × ${image.height} px`],
    ["format", `${image.format}, ${(image.byte_size / 1024).toFixed(1)} KiB`],
    ["indexed", new Date(image.added_at).toLocaleString(language)],
    ["sha256", image.sha256],
    ...geoRows(image.geo),
  ];
  $("#detail-meta").replaceChildren(
    ...rows.flatMap(([term, value]) => {
      const dt = document.createElement("dt");
      dt.textContent = term === "sha256" ? term : t(`meta.${term}`);
      const dd = document.createElement("dd");
      dd.textContent = value;
      return [dt, dd];
    }),
  );
  if (!$("#detail").open) $("#detail").showModal();
  showFootprints($("#detail-map"), image, shownResults);
}

function geoRows(geo) {
  if (!geo) return [];
  const rows = [
    ["scene", geo.scene],
    ["window", t("detail.window", geo.window)],
    ["bands", geo.bands],
  ];
  if (geo.acquired) rows.push(["acquired", geo.acquired]);
  if (geo.sensor) rows.push(["sensor", geo.sensor]);
  if (geo.crs) rows.push(["crs", geo.crs]);
  if (geo.resolution_m) rows.push(["resolution", `${geo.resolution_m.toFixed(2)} m`]);
  if (geo.bbox) rows.push(["bbox", geo.bbox.map((v) => v.toFixed(5)).join(", ")]);
  return rows;
}

async function openDetailById(id) {
  try {
    openDetail(await api(`/images/${id}/info`));
  } catch (error) {
    setError($("#emap-status"), error);
  }
}

// -- tabs (WAI-ARIA tabs: arrows, Home, End; one tab stop) ----------------------------
function tabs() {
  return [...document.querySelectorAll("[role=tab]")];
}

function activateTab(name, focus = false) {
  tabs().forEach((tab) => {
    const selected = tab.dataset.panel === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#panel-${tab.dataset.panel}`).hidden = !selected;
    if (selected && focus) tab.focus();
  });
  if (name === "map") showEmbeddingMap();
  if (name === "search") refreshResultsMap();
}

function onTabKey(event) {
  const all = tabs();
  const here = all.indexOf(event.target);
  const next = { ArrowRight: here + 1, ArrowLeft: here - 1, Home: 0, End: all.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  activateTab(all[(next + all.length) % all.length].dataset.panel, true);
}

// -- search inputs -------------------------------------------------------------------
let previewToken = 0;

async function choosePhoto(file) {
  if (!file) return;
  const preview = $("#photo-preview");
  const token = ++previewToken;
  showPicture(preview, null);
  startSearch("image", { file });
  try {
    const url = await previewUrl(file);
    if (token === previewToken && search.file === file) showPicture(preview, url);
    else URL.revokeObjectURL(url);
  } catch {
    if (token === previewToken) showPicture(preview, null); // the search says why
  }
}

function updateFilterSummary() {
  const count = Object.keys(searchFilters()).length;
  $("#filter-summary").textContent = count ? t("filters.set", { count }) : "";
}

function updateEnglishNote() {
  const cjk = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/.test($("#query").value);
  $("#english-note").hidden = !(cjk || language !== "en");
}

function showStats(stats) {
  lastStats = stats;
  const model = (stats.model || t("stats.noModel")).split("/").pop();
  setStatus($("#stats"), "stats.line", { items: stats.items, model, dimension: stats.dimension });
  $("#random-weights").hidden = !stats.model_random_weights;
}

function refreshStats() {
  if (document.hidden) return;
  api("/stats")
    .then(showStats)
    .catch((error) => setError($("#stats"), error));
}

function wire() {
  $("#language").addEventListener("click", switchLanguage);
  document.addEventListener("languagechange", () => {
    rewordStatuses();
    updateFilterSummary();
    updateEnglishNote();
    if (shownImage && $("#detail").open) openDetail(shownImage);
  });
  tabs().forEach((tab) => {
    tab.addEventListener("click", () => activateTab(tab.dataset.panel));
    tab.addEventListener("keydown", onTabKey);
  });
  $("#text-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("#query").value.trim(); // any language, passed to the model as typed
    if (!query) return setStatus($("#status"), "status.typeFirst", {}, true);
    startSearch("text", { query });
  });
  $("#query").addEventListener("input", updateEnglishNote);
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
    updateFilterSummary();
    drawFilterBox();
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
  wireAskForm("#classify-form", "/classify", "labels", (answer) =>
    answer.results.map((r) => ({ name: r.label, probability: r.probability, score: r.score })),
  );
  wireAskForm("#similarity-form", "/similarity", "texts", (answer) =>
    answer.results.map((r) => ({ name: r.text, probability: r.probability, score: r.score })),
  );
  wireResultsMap();
  wireEmbeddingMap();
  translatePage();
  refreshStats();
  setInterval(refreshStats, STATS_EVERY_MS);
  document.addEventListener("visibilitychange", refreshStats);
}

wire();
