// Footprints of raster chips on Leaflet maps: no tiles by default (works offline).
// The detail view draws the shown chip bold over the outlines of the other results.
// Open the page with ?basemap=https://your.tiles/{z}/{x}/{y}.png to draw on your own tiles.
"use strict";

const footprintMap = { map: null, layers: null };

function footprintLatLngs(geometry) {
  // GeoJSON rings are [lon, lat]; Leaflet wants [lat, lon].
  return geometry.coordinates[0].map(([lon, lat]) => [lat, lon]);
}

// A Leaflet map on `element` with a metric scale, and the user's own tiles if they gave some.
function offlineMap(element, options = {}) {
  const map = L.map(element, { attributionControl: false, zoomSnap: 0.25, ...options });
  const basemap = new URLSearchParams(window.location.search).get("basemap");
  if (basemap) L.tileLayer(basemap, { maxZoom: 22 }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  return map;
}

function ensureFootprintMap(element) {
  if (footprintMap.map) return footprintMap.map;
  footprintMap.map = offlineMap(element);
  footprintMap.layers = L.layerGroup().addTo(footprintMap.map);
  return footprintMap.map;
}

// Draw `image`'s chip on its footprint (outlined bold) among the outlines of `others`;
// hide the map for an image without a footprint.
function showFootprints(element, image, others) {
  const footprint = image.geo && image.geo.footprint;
  element.hidden = !footprint;
  if (!footprint) return;
  const map = ensureFootprintMap(element);
  footprintMap.layers.clearLayers();
  others
    .filter((other) => other.id !== image.id && other.geo && other.geo.footprint)
    .forEach((other) =>
      L.polygon(footprintLatLngs(other.geo.footprint), { className: "footprint-other", weight: 1, fill: false })
        .bindTooltip(`#${other.id}`)
        .addTo(footprintMap.layers),
    );
  const shown = L.polygon(footprintLatLngs(footprint), { className: "footprint-shown", weight: 3, fillOpacity: 0 });
  L.imageOverlay(image.thumbnail_url, shown.getBounds(), { alt: "" }).addTo(footprintMap.layers);
  shown.addTo(footprintMap.layers);
  map.invalidateSize();
  map.fitBounds(shown.getBounds(), { padding: [40, 40], maxZoom: 18 });
}
