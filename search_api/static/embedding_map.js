// The "Map" tab: the index's embeddings in 2-D (rsclip plot's JSON, from GET /embedding-map),
// points coloured by label or source, a few chips drawn as pictures; a click opens the image.
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const embeddingMap = { map: null, layers: null, document: null, loading: null };

function showEmbeddingMap() {
  if (!embeddingMap.map) {
    embeddingMap.map = L.map("emap", { crs: L.CRS.Simple, attributionControl: false, minZoom: -8, zoomSnap: 0.25 });
    embeddingMap.layers = L.layerGroup().addTo(embeddingMap.map);
  }
  embeddingMap.map.invalidateSize();
  if (embeddingMap.document || embeddingMap.loading) return;
  const status = $("#emap-status");
  setStatus(status, "emap.loading");
  embeddingMap.loading = api("/embedding-map")
    .then((plot) => {
      embeddingMap.document = plot;
      describeEmbeddingMap(status, plot);
      drawEmbeddingMap();
    })
    .catch((error) => setError(status, error))
    .finally(() => (embeddingMap.loading = null));
}

function describeEmbeddingMap(status, plot) {
  const counts = { points: plot.plotted_points, total: plot.indexed_points };
  if (plot.origin === "file") {
    setStatus(status, "emap.fromFile", { ...counts, file: "embedding-map.json", method: plot.method });
  } else {
    setStatus(status, "emap.computed", { ...counts, seed: plot.seed });
  }
}

function pointGroup(point, colourBy) {
  return (colourBy === "source" ? point.source : point.label) ?? point.label ?? "?";
}

function drawEmbeddingMap() {
  const plot = embeddingMap.document;
  if (!plot) return;
  const colourBy = $("#emap-colour").value;
  const points = plot.points;
  const groups = [...new Set(points.map((point) => pointGroup(point, colourBy)))].sort();
  const colourOf = new Map(groups.map((group, i) => [group, PALETTE[i % PALETTE.length]]));
  embeddingMap.layers.clearLayers();
  const bounds = L.latLngBounds(points.map((point) => [point.y, point.x]));
  const span = Math.max(bounds.getEast() - bounds.getWest(), bounds.getNorth() - bounds.getSouth()) || 1;
  const half = span * 0.04; // pictures a few percent of the map wide
  const pictured = new Set(plot.thumbnails || []);
  embeddingMap.map.invalidateSize();
  embeddingMap.map.fitBounds(bounds.pad(0.12)); // first: layers join a map once it has a view
  points.forEach((point) => {
    const colour = colourOf.get(pointGroup(point, colourBy));
    const open = () => openDetailById(point.id);
    L.circleMarker([point.y, point.x], { radius: 5, color: "#ffffff", weight: 1, fillColor: colour, fillOpacity: 0.95 })
      .bindTooltip(`#${point.id} ${point.location}`)
      .on("click", open)
      .addTo(embeddingMap.layers);
    if (!pictured.has(point.id)) return;
    const corners = [
      [point.y - half, point.x - half],
      [point.y + half, point.x + half],
    ];
    const picture = L.imageOverlay(`/images/${point.id}/thumbnail?size=128`, corners, {
      alt: point.location,
      className: "emap-thumb",
      interactive: true,
    });
    picture.on("click", open).addTo(embeddingMap.layers);
    picture.getElement().style.borderColor = colour;
  });
  drawLegend(groups, colourOf, points, colourBy);
}

function drawLegend(groups, colourOf, points, colourBy) {
  const counts = new Map();
  points.forEach((point) => counts.set(pointGroup(point, colourBy), (counts.get(pointGroup(point, colourBy)) || 0) + 1));
  $("#emap-legend").replaceChildren(
    ...groups.map((group) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colourOf.get(group);
      item.append(swatch, `${group} (${counts.get(group)})`);
      return item;
    }),
  );
}

function wireEmbeddingMap() {
  $("#emap-colour").addEventListener("change", drawEmbeddingMap);
}
