// The whiteboard's input (issue 12): its buttons, the pointer on the canvas (draw, erase,
// select and move, pan), the wheel (zoom with Ctrl, else pan), the keyboard (undo/redo,
// delete the selection) and the text field. Methods of Whiteboard (board.js), mixed in.

import { bounds, hits } from './board-draw.js';
import { $ } from './dom.js';

const MAX_POINTS = 2000;
const round = (v) => Math.round(v * 10) / 10;

/** Fewer points, same stroke: every other point until it fits the server's limit. */
function thin(points) {
  let out = points;
  while (out.length > MAX_POINTS) out = out.filter((_, i) => i % 2 === 0 || i === out.length - 1);
  return out;
}

export const inputMethods = {
  // ------------------------------------------------------------ input
  setupControls() {
    const click = (id, fn) => $(id).addEventListener('click', fn);
    for (const button of this.root.querySelectorAll('[data-tool]')) {
      button.addEventListener('click', () => this.setTool(button.dataset.tool));
    }
    this.select.addEventListener('change', () => this.openBoard(this.select.value));
    click('#board-new', () => this.createBoard());
    click('#board-rename', () => this.startRename());
    click('#board-delete', () => this.deleteBoard());
    click('#board-undo', () => this.undo());
    click('#board-redo', () => this.redo());
    click('#board-clear', () => this.clearBoard());
    click('#board-zoom-in', () => this.zoomCenter(1.25));
    click('#board-zoom-out', () => this.zoomCenter(0.8));
    click('#board-zoom-reset', () => this.fit());
    click('#board-png', () => this.exportPng());
    click('#board-svg', () => this.exportSvg());
    click('#board-close', () => this.close());
    const name = $('#board-name');
    name.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') this.finishRename(true);
      else if (event.key === 'Escape') this.finishRename(false);
      else return;
      event.preventDefault();
    });
    name.addEventListener('blur', () => this.finishRename(true));
    const text = $('#board-text');
    text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') this.commitText();
      else if (event.key === 'Escape') this.cancelText();
      else return;
      event.preventDefault();
    });
    text.addEventListener('blur', () => this.commitText());
    this.canvas.addEventListener('keydown', (event) => {
      const key = event.key.toLowerCase();
      const mod = event.ctrlKey || event.metaKey;
      if (mod && key === 'z' && !event.shiftKey) this.undo();
      else if ((mod && key === 'y') || (mod && key === 'z' && event.shiftKey)) this.redo();
      else if ((key === 'delete' || key === 'backspace') && this.selection.size) this.erase(this.selection);
      else return;
      event.preventDefault();
    });
    const width = $('#board-width');
    width.addEventListener('input', () => this.render());
  },

  style() {
    return { color: $('#board-color').value || '#000000', width: Number($('#board-width').value) || 3 };
  },

  setupPointer() {
    const c = this.canvas;
    c.addEventListener('pointerdown', (event) => this.down(event));
    c.addEventListener('pointermove', (event) => this.moveTo(event));
    c.addEventListener('pointerup', (event) => this.up(event));
    c.addEventListener('pointercancel', () => this.cancelGesture());
    c.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        const r = c.getBoundingClientRect();
        if (event.ctrlKey || event.metaKey) {
          this.zoomAt(Math.exp(-event.deltaY / 300), event.clientX - r.left, event.clientY - r.top);
        } else {
          this.view.x -= event.deltaX;
          this.view.y -= event.deltaY;
          this.render();
        }
      },
      { passive: false },
    );
  },

  down(event) {
    if (!this.current || this.gesture) return;
    this.commitText();
    this.canvas.focus({ preventScroll: true });
    this.canvas.setPointerCapture?.(event.pointerId);
    const [x, y] = this.toBoard(event);
    const tool = event.button === 1 || (event.button === 0 && event.shiftKey && this.tool === 'pan') ? 'pan' : this.tool;
    const { color, width } = this.style();
    const g = { tool, start: [x, y], sx: event.clientX, sy: event.clientY, view: { ...this.view } };
    if (tool === 'pen') {
      g.preview = { id: this.newId(), shape: 'pen', points: [[round(x), round(y)]], color, width, text: '' };
    } else if (['line', 'rect', 'ellipse', 'arrow'].includes(tool)) {
      g.preview = { id: this.newId(), shape: tool, points: [[round(x), round(y)], [round(x), round(y)]], color, width, text: '' };
    } else if (tool === 'text') {
      g.text = true; // the field opens on release, once the click has moved the focus
    } else if (tool === 'eraser') {
      g.hit = new Set();
      this.eraseAt(g, x, y);
    } else if (tool === 'select') {
      const hit = this.topAt(x, y);
      if (hit) {
        if (event.shiftKey) {
          if (this.selection.has(hit.id)) this.selection.delete(hit.id);
          else this.selection.add(hit.id);
        } else if (!this.selection.has(hit.id)) {
          this.selection = new Set([hit.id]);
        }
        g.moving = true;
        g.dx = 0;
        g.dy = 0;
      } else {
        if (!event.shiftKey) this.selection.clear();
        g.marquee = [x, y, x, y];
      }
    }
    this.gesture = g;
    this.render();
  },

  moveTo(event) {
    const g = this.gesture;
    if (!g) return;
    const [x, y] = this.toBoard(event);
    if (g.tool === 'pan') {
      this.view.x = g.view.x + event.clientX - g.sx;
      this.view.y = g.view.y + event.clientY - g.sy;
    } else if (g.tool === 'pen') {
      const pts = g.preview.points;
      const [lx, ly] = pts[pts.length - 1];
      if (Math.hypot(x - lx, y - ly) * this.view.scale >= 2) pts.push([round(x), round(y)]);
    } else if (g.preview) {
      g.preview.points[1] = [round(x), round(y)];
    } else if (g.tool === 'eraser') {
      this.eraseAt(g, x, y);
    } else if (g.moving) {
      g.dx = round(x - g.start[0]);
      g.dy = round(y - g.start[1]);
    } else if (g.marquee) {
      g.marquee[2] = x;
      g.marquee[3] = y;
    }
    this.render();
  },

  up(event) {
    const g = this.gesture;
    if (!g) return;
    this.gesture = null;
    this.canvas.releasePointerCapture?.(event.pointerId);
    if (g.text) {
      this.startText(event, ...g.start);
    } else if (g.tool === 'pen') {
      const item = g.preview;
      if (item.points.length === 1) item.points.push([item.points[0][0] + 0.1, item.points[0][1]]);
      item.points = thin(item.points);
      this.addItem(item);
    } else if (g.preview) {
      const [[x1, y1], [x2, y2]] = g.preview.points;
      if (Math.hypot(x2 - x1, y2 - y1) * this.view.scale >= 2) this.addItem(g.preview);
    } else if (g.tool === 'eraser') {
      this.erase(g.hit);
    } else if (g.moving) {
      this.move(this.selection, g.dx, g.dy);
    } else if (g.marquee) {
      const [x1, y1, x2, y2] = g.marquee;
      const [lx, hx, ly, hy] = [Math.min(x1, x2), Math.max(x1, x2), Math.min(y1, y2), Math.max(y1, y2)];
      for (const item of this.visibleItems()) {
        const b = bounds(item);
        if (b.x >= lx && b.y >= ly && b.x + b.w <= hx && b.y + b.h <= hy) this.selection.add(item.id);
      }
    }
    this.renderControls();
    this.render();
  },

  cancelGesture() {
    this.gesture = null;
    this.render();
  },

  topAt(x, y) {
    const tolerance = 6 / this.view.scale;
    const items = this.visibleItems();
    for (let i = items.length - 1; i >= 0; i -= 1) if (hits(items[i], x, y, tolerance)) return items[i];
    return null;
  },

  eraseAt(g, x, y) {
    const tolerance = 8 / this.view.scale;
    for (const item of this.visibleItems()) if (hits(item, x, y, tolerance)) g.hit.add(item.id);
  },

  // ------------------------------------------------------------ text
  startText(event, x, y) {
    const input = $('#board-text');
    const surface = this.canvas.parentElement.getBoundingClientRect();
    input.style.left = `${event.clientX - surface.left}px`;
    input.style.top = `${event.clientY - surface.top}px`;
    input.style.color = this.style().color;
    input.value = '';
    input.hidden = false;
    input.dataset.x = String(round(x));
    input.dataset.y = String(round(y));
    input.focus();
  },

  commitText() {
    const input = $('#board-text');
    if (input.hidden) return;
    input.hidden = true;
    const text = input.value.trim().slice(0, 500);
    input.value = '';
    if (!text || !this.current) return;
    const { color, width } = this.style();
    this.addItem({
      id: this.newId(),
      shape: 'text',
      points: [[Number(input.dataset.x), Number(input.dataset.y)]],
      color,
      width,
      text,
    });
  },

  cancelText() {
    const input = $('#board-text');
    input.value = '';
    input.hidden = true;
  },
};
