/*
 * yizhan map runtime: builds the overlays of a yizhan map from compact JSON payloads.
 *
 * Every overlay carries its coordinates twice, in WGS-84 and in GCJ-02 (computed in Python with
 * stations.coords.wgs84_to_gcj02). The overlay entry in the layer control is an empty
 * L.layerGroup; it holds the variant built for the datum of the current base map, built on first
 * use and cached. Switching the base map (baselayerchange) to a GCJ-02 one (Amap) swaps every
 * overlay to its GCJ-02 variant, so overlays sit on the right street on either base map.
 *
 * User text (names, addresses, ...) only ever reaches the page through textContent; no payload
 * string is parsed as HTML.
 */
(function () {
  "use strict";

  var Y = (window.YIZHAN = window.YIZHAN || {});
  Y.datum = "wgs84";
  Y.overlays = [];
  Y.builders = {};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  Y.el = el;

  // Phones and small screenshots: layer control as a button, legend folded.
  Y.smallScreen = function () {
    return window.innerWidth < 900 || window.innerHeight < 620;
  };
  // Popups fit the screen: on a phone (375 px) no wider than the screen less Leaflet's margins.
  Y.popupSize = function (min) {
    var max = Math.max(160, Math.min(340, window.innerWidth - 64));
    return { maxWidth: max, minWidth: Math.min(min || 0, max) };
  };

  function rowsTable(labels, values) {
    var table = el("table", "yz-rows");
    for (var i = 0; i < labels.length; i++) {
      var v = values[i];
      if (v === null || v === undefined || v === "") continue;
      var tr = el("tr");
      tr.appendChild(el("th", null, labels[i]));
      tr.appendChild(el("td", null, v));
      table.appendChild(tr);
    }
    return table;
  }

  function card(title, subtitle, labels, values) {
    var box = el("div", "yz-popup");
    box.appendChild(el("div", "yz-popup-title", title));
    if (subtitle) box.appendChild(el("div", "yz-popup-sub", subtitle));
    box.appendChild(rowsTable(labels, values));
    return box;
  }

  function textNode(text) {
    return function () {
      return el("span", null, text);
    };
  }

  // Flat [lat, lon, lat, lon, ...] rings -> Leaflet nested arrays (polygon parts -> rings).
  function rings(parts) {
    return parts.map(function (part) {
      return part.map(function (flat) {
        var ring = new Array(flat.length / 2);
        for (var k = 0; k < ring.length; k++) ring[k] = [flat[2 * k], flat[2 * k + 1]];
        return ring;
      });
    });
  }

  // ---------------------------------------------------------------------------- overlays

  Y.overlay = function (map, kind, data, opts) {
    var group = L.layerGroup();
    group._yz = { kind: kind, data: data, opts: opts || {}, cache: {}, shown: null };
    group.on("add", function () {
      Y.refresh(group);
      // Overlays of one exclusive set (the province map's rules) show one at a time.
      var set = group._yz.opts.exclusive;
      if (!set) return;
      // after the layer control has handled the click, so that it unticks the others
      setTimeout(function () {
        Y.overlays.forEach(function (other) {
          if (other !== group && other._yz.opts.exclusive === set && map.hasLayer(other)) {
            map.removeLayer(other);
          }
        });
      }, 0);
    });
    Y.overlays.push(group);
    return group;
  };

  Y.refresh = function (group) {
    var s = group._yz;
    if (s.shown === Y.datum) return;
    var layer = s.cache[Y.datum];
    if (!layer) {
      layer = s.cache[Y.datum] = Y.builders[s.kind](s.data, s.opts, Y.datum);
    }
    group.clearLayers();
    group.addLayer(layer);
    s.shown = Y.datum;
  };

  Y.setDatum = function (map, datum) {
    if (datum !== "wgs84" && datum !== "gcj02") datum = "wgs84";
    Y.datum = datum;
    map.getContainer().setAttribute("data-datum", datum);
    Y.overlays.forEach(function (group) {
      if (map.hasLayer(group)) {
        Y.refresh(group);
      } else {
        group.clearLayers(); // rebuilt for the new datum when shown again
        group._yz.shown = null;
      }
    });
  };

  Y.init = function (map, options) {
    Y.map = map;
    // Areas above the heat map (whose canvas sits in the overlay pane), below markers.
    map.createPane("yzAreas").style.zIndex = 450;
    Y.setDatum(map, options.datum);
    map.on("baselayerchange", function (e) {
      Y.setDatum(map, (e.layer.options && e.layer.options.yizhanDatum) || "wgs84");
    });
    // On a phone the title box and zoom buttons would cover an open popup: they step aside.
    map.on("popupopen", function () {
      if (Y.smallScreen()) map.getContainer().classList.add("yz-popup-open");
    });
    map.on("popupclose", function () {
      map.getContainer().classList.remove("yz-popup-open");
    });
  };

  // ---------------------------------------------------------------------------- stations

  Y.builders.stations = function (d, o, datum) {
    var lon = d.lon[datum];
    var lat = d.lat[datum];
    var icons = o.tiers.map(function (t) {
      return L.divIcon({
        className: "yz-station",
        html: '<span style="background:' + t.color + '"></span>',
        iconSize: [16, 16],
        iconAnchor: [8, 8],
        popupAnchor: [0, -8],
        tooltipAnchor: [8, 0],
      });
    });
    var markers = new Array(lon.length);
    for (var i = 0; i < lon.length; i++) {
      var m = L.marker([lat[i], lon[i]], { icon: icons[d.tier[i]], keyboard: false,
                                           yzTier: d.tier[i] });
      m.bindTooltip(textNode(d.name[i] || d.id[i]), { direction: "right" });
      m.bindPopup(stationPopup(d, o, i), Y.popupSize(240));
      markers[i] = m;
    }
    if (o.cluster) {
      var cluster = L.markerClusterGroup({
        chunkedLoading: true,
        showCoverageOnHover: false,
        maxClusterRadius: 45,
        disableClusteringAtZoom: 17,
        // a bubble takes the colour of the worst compliance inside it (not the plugin's
        // count colours, which read as compliance: a green "2" could hold two red stations)
        iconCreateFunction: function (c) {
          var kids = c.getAllChildMarkers();
          var worst = kids[0].options.yzTier;
          kids.forEach(function (k) {
            if (o.severity[k.options.yzTier] < o.severity[worst]) worst = k.options.yzTier;
          });
          return L.divIcon({
            className: "marker-cluster yz-cluster",
            html: '<span style="background:' + o.tiers[worst].color + '">' + kids.length +
              "</span>",
            iconSize: [30, 30],
          });
        },
      });
      cluster.addLayers(markers);
      return cluster;
    }
    return L.featureGroup(markers);
  };

  function stationPopup(d, o, i) {
    return function () {
      var values = o.fields.map(function (f) {
        return d.values[f][i];
      });
      var tier = o.tiers[d.tier[i]];
      var box = card(d.name[i] || d.id[i], tier.label, o.field_labels, values);
      box.classList.add("yz-station-popup");
      var have = d.have[i];
      var req = d.req[i];
      if (o.amenities.length) {
        var head = el("div", "yz-popup-section", o.checklist_title + " ");
        head.appendChild(el("span", "yz-required", "★"));
        head.appendChild(document.createTextNode(o.required_label));
        box.appendChild(head);
        var list = el("ul", "yz-checklist");
        // required items first, then the others, each in manifest order
        [true, false].forEach(function (wantRequired) {
          for (var k = 0; k < o.amenities.length; k++) {
            var isReq = req.charAt(k) === "1";
            if (isReq !== wantRequired) continue;
            var flag = have.charAt(k);
            var ok = flag === "1";
            var unknown = flag === "?";
            var li = el("li", unknown ? "yz-unrecorded" : (ok ? "yz-have" : "yz-missing"));
            li.appendChild(el("span", "yz-mark", unknown ? "—" : (ok ? "✓" : "✗")));
            if (isReq) li.appendChild(el("span", "yz-required", "★"));
            li.appendChild(el("span", null, o.amenities[k]));
            if (unknown) li.appendChild(el("span", "yz-note", " · " + o.not_recorded_label));
            list.appendChild(li);
          }
        });
        box.appendChild(list);
      }
      return box;
    };
  }

  // ---------------------------------------------------------------------------- polygons

  Y.builders.polygons = function (d, o, datum) {
    var geoms = d.geom[datum];
    var layers = [];
    for (var i = 0; i < geoms.length; i++) {
      var color = o.palette[d.color[i]];
      var poly = L.polygon(rings(geoms[i]), {
        color: o.stroke || color,
        weight: o.weight,
        opacity: o.opacity,
        fillColor: color,
        fillOpacity: o.fill_opacity,
        fill: o.fill_opacity > 0,
        dashArray: o.dash || null,
        interactive: o.interactive !== false,
        pane: "yzAreas",
      });
      if (o.permanent_labels) {
        poly.bindTooltip(textNode(d.label[i]), {
          permanent: true, direction: "center", className: "yz-area-label",
        });
      }
      if (o.interactive !== false) {
        if (!o.permanent_labels) poly.bindTooltip(textNode(d.label[i]), { sticky: true });
        if ((o.field_labels && o.field_labels.length) || d.links) {
          poly.bindPopup(polygonPopup(d, o, i), Y.popupSize());
        }
      }
      layers.push(poly);
    }
    return L.featureGroup(layers);
  };

  function polygonPopup(d, o, i) {
    return function () {
      var box = card(d.label[i], d.subtitle ? d.subtitle[i] : null, o.field_labels, d.rows[i]);
      var url = d.links ? d.links[i] : null;
      if (url) {
        // relative paths only (checked in Python); set as a property, never parsed as HTML
        var a = el("a", "yz-popup-link", o.link_label || url);
        a.href = url;
        a.target = "_blank";
        a.rel = "noopener";
        box.appendChild(a);
      }
      return box;
    };
  }

  // ---------------------------------------------------------------------------- heat

  Y.builders.heat = function (d, o, datum) {
    var lon = d.lon[datum];
    var lat = d.lat[datum];
    var pts = new Array(lon.length);
    for (var i = 0; i < lon.length; i++) pts[i] = [lat[i], lon[i], d.w[i]];
    return L.heatLayer(pts, {
      radius: o.radius,
      blur: o.blur,
      max: 1.0,
      maxZoom: o.max_zoom,
      minOpacity: o.min_opacity,
      gradient: o.gradient,
    });
  };

  // ---------------------------------------------------------------------------- sites

  Y.builders.sites = function (d, o, datum) {
    var lon = d.lon[datum];
    var lat = d.lat[datum];
    var markers = [];
    for (var i = 0; i < lon.length; i++) {
      var badge = el("span", "yz-rank", d.rank[i]);
      var kind = o.kinds[d.kind[i]];
      badge.style.background = kind.color;
      var icon = L.divIcon({
        className: "yz-site yz-site-" + kind.key,
        html: badge,
        iconSize: [26, 26],
        iconAnchor: [13, 13],
        popupAnchor: [0, -13],
      });
      var m = L.marker([lat[i], lon[i]], { icon: icon, keyboard: false, zIndexOffset: 1000 });
      m.bindTooltip(textNode(d.label[i]), { direction: "right" });
      m.bindPopup(sitePopup(d, o, i), Y.popupSize(240));
      markers.push(m);
    }
    return L.featureGroup(markers);
  };

  function sitePopup(d, o, i) {
    return function () {
      var box = card(d.label[i], o.kinds[d.kind[i]].label, o.field_labels, d.rows[i]);
      if (d.why[i]) {
        box.appendChild(el("div", "yz-popup-section", o.why_title));
        box.appendChild(el("p", "yz-why", d.why[i]));
      }
      return box;
    };
  }

  // ---------------------------------------------------------------------------- legend, title

  Y.legend = function (map, spec) {
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      var root = el("div", "yz-legend leaflet-bar");
      var details = el("details");
      details.open = !Y.smallScreen();
      details.appendChild(el("summary", null, spec.title));
      spec.sections.forEach(function (section) {
        details.appendChild(el("div", "yz-legend-title", section.title));
        section.items.forEach(function (item) {
          var row = el("div", "yz-legend-item");
          var sw = el("span", "yz-swatch yz-swatch-" + item.shape);
          if (item.color) sw.style.background = item.color;
          if (item.border) sw.style.borderColor = item.border;
          if (item.text) sw.textContent = item.text;
          row.appendChild(sw);
          row.appendChild(el("span", null, item.label));
          details.appendChild(row);
        });
        if (section.note) details.appendChild(el("div", "yz-legend-note", section.note));
      });
      root.appendChild(details);
      L.DomEvent.disableClickPropagation(root);
      L.DomEvent.disableScrollPropagation(root);
      return root;
    };
    control.addTo(map);
    return control;
  };

  Y.title = function (map, spec) {
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var root = el("div", "yz-title leaflet-bar");
      root.appendChild(el("div", "yz-title-main", spec.title));
      if (spec.subtitle) root.appendChild(el("div", "yz-title-sub", spec.subtitle));
      if (spec.notice) root.appendChild(el("div", "yz-notice", spec.notice));
      L.DomEvent.disableClickPropagation(root);
      return root;
    };
    control.addTo(map);
    // above the zoom buttons, not below them
    var box = control.getContainer();
    box.parentNode.insertBefore(box, box.parentNode.firstChild);
    return control;
  };
})();
