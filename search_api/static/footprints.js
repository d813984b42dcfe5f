// Footprints of raster chips on a small Leaflet map: no tiles by default (works offline),
// the shown chip drawn bold over the outlines of the other results for context.
// Open the page with ?basemap=https://your.tiles/{z}/{x}/{y}.png to draw on your own tiles.
"use strict";

const footprintMap = { map: null, layers: null };

function footprintLatLngs(geometry) {
  // GeoJSON rings are [lon, lat]; Leaflet wants [lat, lon].
  return geometry.coordinates[0].map(([lon, lat]) => [lat, lon]);
}

function ensureFootprintMap(element) {
  if (footprintMap.map) return footprintMap.map;
  const map = L.map(element, { attributionControl: false, zoomSnap: 0.25 });
  const basemap = new URLSearchParams(window.location.search).get("basemap");
  if (basemap) L.tileLayer(basemap, { maxZoom: 22 }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  footprintMap.layers = L.layerGroup().addTo(map);
  footprintMap.map = map;
  return map;
}

// Draw `image`'s footprint (bold) and those of `others` (thin); hide the map without one.
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
  const shown = L.polygon(footprintLatLngs(footprint), { className: "footprint-shown", weight: 3, fillOpacity: 0.15 });
  shown.addTo(footprintMap.layers);
  map.invalidateSize();
  map.fitBounds(shown.getBounds(), { padding: [40, 40], maxZoom: 18 });
}
