// The current results on one map: each chip drawn on its footprint (the chips are the
// base map, so it works offline), linked with the grid both ways, and a box drawn on it
// sets the place filter. Footprints are outlined exactly; a chip picture is north-up on
// its footprint's bounding box (exact for north-up scenes, close for the others).
"use strict";

const resultsMap = { map: null, layers: null, outlines: new Map(), box: null, drawing: null, placed: 0 };

function ensureResultsMap() {
  if (resultsMap.map) return resultsMap.map;
  const map = offlineMap("results-map", { boxZoom: false });
  resultsMap.layers = L.layerGroup().addTo(map);
  map.on("mousedown", onDrawStart);
  map.on("mousemove", onDrawMove);
  map.on("mouseup", onDrawEnd);
  resultsMap.map = map;
  return map;
}

function showResultsMap(results) {
  const placed = results.filter((result) => result.geo && result.geo.footprint);
  const keepForBox = resultsMap.map && searchFilters().bbox; // a box that found nothing can be redrawn
  $("#results-map-box").hidden = !placed.length && !keepForBox;
  if ($("#results-map-box").hidden) return;
  const map = ensureResultsMap();
  resultsMap.layers.clearLayers();
  resultsMap.outlines.clear();
  const rings = placed.map((result) => footprintLatLngs(result.geo.footprint));
  const all = L.latLngBounds(rings.flat());
  map.invalidateSize();
  if (all.isValid()) map.fitBounds(all, { padding: [16, 16], maxZoom: 18 }); // first: layers need a view
  placed.forEach((result, i) => {
    const bounds = L.latLngBounds(rings[i]);
    L.imageOverlay(result.thumbnail_url, bounds, { alt: "", className: "chip-overlay" }).addTo(resultsMap.layers);
    const outline = L.polygon(rings[i], { className: "footprint-result", weight: 1, fillOpacity: 0 })
      .bindTooltip(`#${result.id} ${baseName(result.member || result.location)}`)
      .on("mouseover", () => linkHighlight(result.id, true))
      .on("mouseout", () => linkHighlight(result.id, false))
      .on("click", () => focusCard(result.id));
    outline.addTo(resultsMap.layers);
    resultsMap.outlines.set(String(result.id), outline);
  });
  drawFilterBox();
  setStatus($("#results-map-note"), "map.count", { count: placed.length, total: results.length });
}

function refreshResultsMap() {
  if (resultsMap.map) resultsMap.map.invalidateSize();
}

// Hovering (or focusing) a card lights its footprint; hovering a footprint lights its card.
function linkHighlight(id, on) {
  const card = $(`.result[data-id="${id}"]`);
  if (card) card.classList.toggle("linked", on);
  const outline = resultsMap.outlines.get(String(id));
  if (outline) {
    outline.setStyle({ weight: on ? 4 : 1 });
    if (on) outline.bringToFront();
    outline.getElement().classList.toggle("linked", on);
  }
}

function linkCardToMap(card, id) {
  card.addEventListener("mouseenter", () => linkHighlight(id, true));
  card.addEventListener("mouseleave", () => linkHighlight(id, false));
  card.addEventListener("focus", () => linkHighlight(id, true));
  card.addEventListener("blur", () => linkHighlight(id, false));
}

function focusCard(id) {
  const card = $(`.result[data-id="${id}"]`);
  if (!card) return;
  card.scrollIntoView({ block: "nearest" });
  card.focus({ preventScroll: true });
}

// -- the place filter as a box on the map ------------------------------------------
function parseBox(text) {
  const values = text.split(",").map(Number);
  return values.length === 4 && values.every(Number.isFinite) ? values : null;
}

function drawFilterBox() {
  if (!resultsMap.map) return;
  if (resultsMap.box) resultsMap.box.remove();
  resultsMap.box = null;
  const box = parseBox($("#filter-bbox").value);
  if (!box) return;
  const [west, south, east, north] = box;
  resultsMap.box = L.rectangle(
    [
      [south, west],
      [north, east],
    ],
    { className: "filter-box", weight: 2, fill: false, interactive: false },
  ).addTo(resultsMap.map);
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

// Set the place filter to `bounds` and search again.
function useBox(bounds) {
  const west = clamp(bounds.getWest(), -180, 180);
  const east = clamp(bounds.getEast(), -180, 180);
  const south = clamp(bounds.getSouth(), -90, 90);
  const north = clamp(bounds.getNorth(), -90, 90);
  $("#filter-bbox").value = [west, south, east, north].map((v) => v.toFixed(5)).join(",");
  $("#filters").open = true;
  updateFilterSummary();
  drawFilterBox();
  runSearch(true);
}

function setDrawing(on) {
  const map = ensureResultsMap();
  resultsMap.drawing = on ? { start: null, rectangle: null } : null;
  if (on) map.dragging.disable();
  else map.dragging.enable();
  map.getContainer().classList.toggle("drawing", on);
  $("#draw-box").setAttribute("aria-pressed", String(on));
  if (on) setStatus($("#results-map-note"), "map.drawing");
}

function onDrawStart(event) {
  const drawing = resultsMap.drawing;
  if (!drawing) return;
  drawing.start = event.latlng;
  drawing.rectangle = L.rectangle(L.latLngBounds(event.latlng, event.latlng), {
    className: "filter-box",
    weight: 2,
    fill: false,
    interactive: false,
  }).addTo(resultsMap.map);
}

function onDrawMove(event) {
  const drawing = resultsMap.drawing;
  if (drawing && drawing.start) drawing.rectangle.setBounds(L.latLngBounds(drawing.start, event.latlng));
}

function onDrawEnd(event) {
  const drawing = resultsMap.drawing;
  if (!drawing || !drawing.start) return;
  const bounds = L.latLngBounds(drawing.start, event.latlng);
  drawing.rectangle.remove();
  setDrawing(false);
  if (!bounds.getNorthEast().equals(bounds.getSouthWest())) useBox(bounds);
}

function wireResultsMap() {
  $("#draw-box").addEventListener("click", () => setDrawing(!resultsMap.drawing));
  $("#view-box").addEventListener("click", () => useBox(ensureResultsMap().getBounds()));
  $("#clear-box").addEventListener("click", () => {
    $("#filter-bbox").value = "";
    updateFilterSummary();
    drawFilterBox();
    runSearch(true);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && resultsMap.drawing) setDrawing(false);
  });
}
