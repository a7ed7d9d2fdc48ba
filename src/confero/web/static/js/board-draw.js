// Drawing whiteboard items (issue 12): on a canvas, as SVG, hit tests and bounds. An item
// is the wire's {id, shape, points: [[x, y], ...], color, width, text, author} in board
// units; the page's view (zoom, pan) is the canvas transform, never in the items.

/** Text size in board units for a width (1..40). */
export function fontSize(item) {
  return 10 + item.width * 3;
}

/** A pen stroke's path: quadratic curves through the midpoints (smoothed freehand). */
function penPath(points, moveTo, lineTo, quadTo) {
  const [first] = points;
  moveTo(first[0], first[1]);
  if (points.length < 3) {
    for (const p of points.slice(1)) lineTo(p[0], p[1]);
    return;
  }
  for (let i = 1; i < points.length - 1; i += 1) {
    const [x, y] = points[i];
    const [nx, ny] = points[i + 1];
    quadTo(x, y, (x + nx) / 2, (y + ny) / 2);
  }
  const last = points[points.length - 1];
  lineTo(last[0], last[1]);
}

function arrowHead(item) {
  const [[x1, y1], [x2, y2]] = item.points;
  const angle = Math.atan2(y2 - y1, x2 - x1);
  const size = 8 + item.width * 2.5;
  const spread = Math.PI / 7;
  return [
    [x2 - size * Math.cos(angle - spread), y2 - size * Math.sin(angle - spread)],
    [x2, y2],
    [x2 - size * Math.cos(angle + spread), y2 - size * Math.sin(angle + spread)],
  ];
}

function box(item) {
  const [[x1, y1], [x2, y2]] = item.points;
  return { x: Math.min(x1, x2), y: Math.min(y1, y2), w: Math.abs(x2 - x1), h: Math.abs(y2 - y1) };
}

/** Draw one item on a 2D context whose transform is the view. */
export function drawItem(ctx, item) {
  ctx.save();
  ctx.strokeStyle = item.color;
  ctx.fillStyle = item.color;
  ctx.lineWidth = item.width;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  const pts = item.points;
  switch (item.shape) {
    case 'pen':
      penPath(pts, (x, y) => ctx.moveTo(x, y), (x, y) => ctx.lineTo(x, y), (cx, cy, x, y) => ctx.quadraticCurveTo(cx, cy, x, y));
      ctx.stroke();
      break;
    case 'line':
      ctx.moveTo(pts[0][0], pts[0][1]);
      ctx.lineTo(pts[1][0], pts[1][1]);
      ctx.stroke();
      break;
    case 'arrow': {
      ctx.moveTo(pts[0][0], pts[0][1]);
      ctx.lineTo(pts[1][0], pts[1][1]);
      const head = arrowHead(item);
      ctx.moveTo(head[0][0], head[0][1]);
      ctx.lineTo(head[1][0], head[1][1]);
      ctx.lineTo(head[2][0], head[2][1]);
      ctx.stroke();
      break;
    }
    case 'rect': {
      const b = box(item);
      ctx.strokeRect(b.x, b.y, b.w, b.h);
      break;
    }
    case 'ellipse': {
      const b = box(item);
      ctx.ellipse(b.x + b.w / 2, b.y + b.h / 2, b.w / 2, b.h / 2, 0, 0, Math.PI * 2);
      ctx.stroke();
      break;
    }
    case 'text':
      ctx.font = `${fontSize(item)}px system-ui, sans-serif`;
      ctx.textBaseline = 'top';
      ctx.fillText(item.text, pts[0][0], pts[0][1]);
      break;
    default:
      break;
  }
  ctx.restore();
}

/** Approximate text width without a canvas (exports, hit tests without a context). */
let measurer = null;
function textWidth(item) {
  measurer ??= document.createElement('canvas').getContext('2d');
  measurer.font = `${fontSize(item)}px system-ui, sans-serif`;
  return measurer.measureText(item.text).width;
}

/** {x, y, w, h} around an item, its line width included. */
export function bounds(item) {
  if (item.shape === 'text') {
    const [[x, y]] = item.points;
    return { x, y, w: textWidth(item), h: fontSize(item) * 1.2 };
  }
  const xs = item.points.map((p) => p[0]);
  const ys = item.points.map((p) => p[1]);
  const pad = item.width / 2 + (item.shape === 'arrow' ? 8 + item.width * 2.5 : 0);
  const x = Math.min(...xs) - pad;
  const y = Math.min(...ys) - pad;
  return { x, y, w: Math.max(...xs) + pad - x, h: Math.max(...ys) + pad - y };
}

export function unionBounds(items) {
  let out = null;
  for (const item of items) {
    const b = bounds(item);
    if (!out) out = { ...b };
    else {
      const x = Math.min(out.x, b.x);
      const y = Math.min(out.y, b.y);
      out = { x, y, w: Math.max(out.x + out.w, b.x + b.w) - x, h: Math.max(out.y + out.h, b.y + b.h) - y };
    }
  }
  return out;
}

function segmentDistance(px, py, [x1, y1], [x2, y2]) {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const len = dx * dx + dy * dy;
  const t = len === 0 ? 0 : Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / len));
  return Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
}

function outline(item) {
  const b = box(item);
  if (item.shape === 'rect') {
    return [[b.x, b.y], [b.x + b.w, b.y], [b.x + b.w, b.y + b.h], [b.x, b.y + b.h], [b.x, b.y]];
  }
  const out = [];
  for (let i = 0; i <= 32; i += 1) {
    const a = (i / 32) * Math.PI * 2;
    out.push([b.x + b.w / 2 + (b.w / 2) * Math.cos(a), b.y + b.h / 2 + (b.h / 2) * Math.sin(a)]);
  }
  return out;
}

/** Whether the point (board units) touches the item, within `tolerance`. */
export function hits(item, x, y, tolerance) {
  const reach = tolerance + item.width / 2;
  if (item.shape === 'text') {
    const b = bounds(item);
    return x >= b.x - tolerance && x <= b.x + b.w + tolerance && y >= b.y - tolerance && y <= b.y + b.h + tolerance;
  }
  let line = item.points;
  if (item.shape === 'rect' || item.shape === 'ellipse') line = outline(item);
  if (item.shape === 'arrow') {
    const head = arrowHead(item);
    if (segmentDistance(x, y, head[0], head[1]) <= reach || segmentDistance(x, y, head[1], head[2]) <= reach) return true;
  }
  for (let i = 0; i < line.length - 1; i += 1) {
    if (segmentDistance(x, y, line[i], line[i + 1]) <= reach) return true;
  }
  return line.length === 1 && Math.hypot(x - line[0][0], y - line[0][1]) <= reach;
}

// ------------------------------------------------------------------ SVG
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const n = (v) => Number(v.toFixed(2));

function svgItem(item) {
  const stroke = `stroke="${esc(item.color)}" stroke-width="${item.width}" stroke-linecap="round" stroke-linejoin="round" fill="none"`;
  const pts = item.points;
  switch (item.shape) {
    case 'pen': {
      const d = [];
      penPath(pts, (x, y) => d.push(`M${n(x)} ${n(y)}`), (x, y) => d.push(`L${n(x)} ${n(y)}`), (cx, cy, x, y) => d.push(`Q${n(cx)} ${n(cy)} ${n(x)} ${n(y)}`));
      return `<path d="${d.join(' ')}" ${stroke}/>`;
    }
    case 'line':
      return `<line x1="${n(pts[0][0])}" y1="${n(pts[0][1])}" x2="${n(pts[1][0])}" y2="${n(pts[1][1])}" ${stroke}/>`;
    case 'arrow': {
      const head = arrowHead(item).map((p) => `${n(p[0])},${n(p[1])}`).join(' ');
      return `<g ${stroke}><line x1="${n(pts[0][0])}" y1="${n(pts[0][1])}" x2="${n(pts[1][0])}" y2="${n(pts[1][1])}"/><polyline points="${head}"/></g>`;
    }
    case 'rect': {
      const b = box(item);
      return `<rect x="${n(b.x)}" y="${n(b.y)}" width="${n(b.w)}" height="${n(b.h)}" ${stroke}/>`;
    }
    case 'ellipse': {
      const b = box(item);
      return `<ellipse cx="${n(b.x + b.w / 2)}" cy="${n(b.y + b.h / 2)}" rx="${n(b.w / 2)}" ry="${n(b.h / 2)}" ${stroke}/>`;
    }
    case 'text':
      return `<text x="${n(pts[0][0])}" y="${n(pts[0][1])}" dominant-baseline="hanging" font-family="system-ui, sans-serif" font-size="${fontSize(item)}" fill="${esc(item.color)}">${esc(item.text)}</text>`;
    default:
      return '';
  }
}

/** The items as one SVG document, cropped to the drawing with a margin. */
export function toSvg(items, margin = 20) {
  const b = unionBounds(items) || { x: 0, y: 0, w: 800, h: 600 };
  const x = b.x - margin;
  const y = b.y - margin;
  const w = b.w + margin * 2;
  const h = b.h + margin * 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${n(x)} ${n(y)} ${n(w)} ${n(h)}" width="${n(w)}" height="${n(h)}">`,
    `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" fill="#ffffff"/>`,
    ...items.map((item) => `<g data-id="${esc(item.id)}">${svgItem(item)}</g>`),
    '</svg>',
  ].join('\n');
}

/** The items as a PNG blob, cropped like the SVG (at most 4096 pixels a side). */
export function toPng(items, margin = 20) {
  const b = unionBounds(items) || { x: 0, y: 0, w: 800, h: 600 };
  const scale = Math.min(2, 4096 / Math.max(b.w + margin * 2, b.h + margin * 2));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.ceil((b.w + margin * 2) * scale));
  canvas.height = Math.max(1, Math.ceil((b.h + margin * 2) * scale));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(scale, 0, 0, scale, (margin - b.x) * scale, (margin - b.y) * scale);
  for (const item of items) drawItem(ctx, item);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}
