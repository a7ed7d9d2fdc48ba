// The whiteboard (issue 12, docs/SIGNALING.md "Boards"): a room's named boards, drawn on
// together over the meeting socket. The server applies every operation in one order per
// board and numbers it (`seq`); this page applies `board_changed` in that order, so all
// pages converge. What this page sends shows at once (pending, by request ref) until the
// server answers; then the confirmed board is the truth.
//
// Undo/redo are this page's own: a stack of what *it* did, undone by sending the inverse
// operation (remove its stroke, put back what it erased, move back), so undo never
// touches another's drawing. A member uses the board on the room page before joining
// (the prejoin slot); in the meeting it is a tile that can be the speaker-view focus.
//
// For browser tests: window.conferoBoard = {snapshot(), svg(), open(id), ...}.

import { bounds, drawItem, toPng, toSvg, unionBounds } from './board-draw.js';
import { confirmDialog } from './dialogs.js';
import { $ } from './dom.js';
import { t } from './i18n.js';
import { inputMethods } from './board-input.js';

const TOOLS = ['pen', 'line', 'rect', 'ellipse', 'arrow', 'text', 'eraser', 'select', 'pan'];
const MAX_IDS = 500;
const MIN_SCALE = 0.1;
const MAX_SCALE = 8;

function applyOp(items, op) {
  switch (op.kind) {
    case 'add':
      items.set(op.item.id, op.item);
      break;
    case 'remove':
      for (const id of op.ids) items.delete(id);
      break;
    case 'move':
      for (const id of op.ids) {
        const item = items.get(id);
        if (item) items.set(id, shifted(item, op.dx, op.dy));
      }
      break;
    case 'clear':
      items.clear();
      break;
    default:
      break;
  }
}

function shifted(item, dx, dy) {
  return { ...item, points: item.points.map(([x, y]) => [x + dx, y + dy]) };
}

function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export class Whiteboard {
  /**
   * @param {object} options
   * @param {(message: object) => boolean} options.send
   * @param {(message: object) => Promise<object>} options.request answered by result/error
   * @param {() => string} options.nextRef
   * @param {() => boolean} options.canUse may this page use boards now (member or joined)
   * @param {() => boolean} options.inMeeting
   * @param {(error: object) => void} options.onError
   * @param {(open: boolean) => void} options.onToggle the board opened or closed
   */
  constructor(options) {
    this.o = options;
    this.root = $('#board');
    this.home = $('#board-home');
    this.canvas = $('#board-canvas');
    this.ctx = this.canvas.getContext('2d');
    this.select = $('#board-select');
    this.isOpen = false;
    this.boards = [];
    /** The board shown: {id, name, seq, items: Map} (confirmed by the server). */
    this.current = null;
    this.wanted = null;
    /** ref -> {put: Map<id, item>, hide: Set<id>} until the server answers. */
    this.pending = new Map();
    this.undoStack = [];
    this.redoStack = [];
    this.view = { scale: 1, x: 0, y: 0 };
    this.tool = 'pen';
    this.gesture = null;
    this.selection = new Set();
    this.prefix = Math.random().toString(36).slice(2, 8);
    this.counter = 0;
    this.setupControls();
    this.setupPointer();
    new ResizeObserver(() => this.resize()).observe(this.canvas.parentElement);
    window.conferoBoard = this.testHooks();
  }

  // --------------------------------------------------------------- the panel
  get element() {
    return this.root;
  }

  /** Show the board (in the slot the page gives, or a meeting tile) and load the list. */
  open() {
    if (!this.o.canUse()) return;
    this.isOpen = true;
    this.refresh();
    this.o.onToggle(true);
    this.renderControls();
  }

  close() {
    this.isOpen = false;
    this.cancelGesture();
    this.home.append(this.root);
    this.o.onToggle(false);
  }

  toggle() {
    if (this.isOpen) this.close();
    else this.open();
  }

  /** Put the panel into a slot (prejoin) or a tile (meeting). */
  placeIn(slot) {
    if (slot && this.root.parentElement !== slot) slot.append(this.root);
    requestAnimationFrame(() => {
      this.resize();
      if (!this.o.inMeeting()) this.root.scrollIntoView({ block: 'nearest' });
    });
  }

  /** (Re)load the list, then the board we show or the first one. */
  refresh() {
    if (!this.o.canUse()) return;
    this.o.send({ type: 'board_list', ref: this.o.nextRef('bl') });
  }

  /** The socket is back, or we just joined: catch up from the server. */
  resync() {
    this.pending.clear();
    if (this.isOpen) this.refresh();
  }

  /** We may no longer use boards (left the meeting as a guest). */
  revoke() {
    if (this.isOpen) this.close();
    this.current = null;
    this.boards = [];
    this.undoStack = [];
    this.redoStack = [];
  }

  // ------------------------------------------------------------ messages
  /** Every message of the socket passes here; board ones are handled. */
  route(m) {
    if (m.type === 'boards') this.onList(m.boards || [], true);
    else if (m.type === 'board_state') this.onState(m);
    else if (m.type === 'event' && m.event === 'boards_listed') this.onList(m.boards || [], false);
    else if (m.type === 'event' && m.event === 'board_changed') this.onChanged(m);
    else if (m.type === 'event' && m.event === 'room_content_reset') this.onReset();
  }

  /** The room's boards; `reload`: also take the shown board afresh (after a resync). */
  onList(boards, reload) {
    this.boards = boards;
    const keep = this.wanted || this.current?.id;
    const target = boards.find((b) => b.id === keep) || boards[0] || null;
    this.wanted = null;
    if (!target) {
      this.current = null;
    } else if (this.isOpen && (reload || target.id !== this.current?.id)) {
      this.openBoard(target.id);
    } else if (this.current) {
      this.current.name = target.name;
    }
    this.renderControls();
    this.render();
  }

  openBoard(id) {
    if (this.current?.id !== id) {
      this.undoStack = [];
      this.redoStack = [];
      this.selection.clear();
      this.pending.clear();
    }
    this.o.send({ type: 'board_open', board_id: id, ref: this.o.nextRef('bo') });
  }

  onState(m) {
    const first = this.current?.id !== m.board_id;
    this.current = {
      id: m.board_id,
      name: m.name,
      seq: m.seq,
      items: new Map((m.items || []).map((item) => [item.id, item])),
    };
    if (first) this.fit();
    this.renderControls();
    this.render();
  }

  onChanged(m) {
    const board = this.current;
    if (!board || m.board_id !== board.id || m.seq <= board.seq) return;
    if (m.seq > board.seq + 1) {
      this.openBoard(board.id); // missed some: take the server's board
      return;
    }
    applyOp(board.items, m.op);
    board.seq = m.seq;
    if (m.op.kind === 'clear' || m.op.kind === 'remove') {
      for (const id of [...this.selection]) if (!board.items.has(id)) this.selection.delete(id);
    }
    this.render();
  }

  onReset() {
    this.current = null;
    this.boards = [];
    this.pending.clear();
    this.undoStack = [];
    this.redoStack = [];
    this.renderControls();
    this.render();
  }

  // ------------------------------------------------------------ operations
  newId() {
    this.counter += 1;
    return `${this.prefix}-${Date.now().toString(36)}-${this.counter.toString(36)}`;
  }

  /** The board as it looks now: confirmed, with what we sent and wait for. */
  visibleItems() {
    if (!this.current) return [];
    const put = new Map();
    const hide = new Set();
    for (const p of this.pending.values()) {
      for (const [id, item] of p.put) put.set(id, item);
      for (const id of p.hide) hide.add(id);
    }
    const out = [];
    for (const [id, item] of this.current.items) {
      if (hide.has(id)) continue;
      out.push(put.get(id) || item);
      put.delete(id);
    }
    for (const [id, item] of put) if (!hide.has(id)) out.push(item);
    return out;
  }

  visibleMap() {
    return new Map(this.visibleItems().map((item) => [item.id, item]));
  }

  /** Send one operation; it shows at once and stays until the server answers. */
  sendOp(op) {
    const board = this.current;
    if (!board) return;
    const ref = this.o.nextRef('bop');
    const delta = { put: new Map(), hide: new Set() };
    if (op.kind === 'add') delta.put.set(op.item.id, op.item);
    else if (op.kind === 'remove') op.ids.forEach((id) => delta.hide.add(id));
    else if (op.kind === 'move') {
      const now = this.visibleMap();
      for (const id of op.ids) if (now.has(id)) delta.put.set(id, shifted(now.get(id), op.dx, op.dy));
    } else if (op.kind === 'clear') this.visibleItems().forEach((item) => delta.hide.add(item.id));
    this.pending.set(ref, delta);
    this.render();
    this.o
      .request({ type: 'board_op', board_id: board.id, op, ref })
      .catch((error) => this.o.onError(error))
      .finally(() => {
        this.pending.delete(ref);
        this.render();
      });
  }

  /** Something this page did: do it, and remember how to undo it. */
  act(doOps, undoOps) {
    for (const op of doOps) this.sendOp(op);
    this.undoStack.push({ doOps, undoOps });
    if (this.undoStack.length > 200) this.undoStack.shift();
    this.redoStack = [];
    this.renderControls();
  }

  undo() {
    const action = this.undoStack.pop();
    if (!action) return;
    for (const op of action.undoOps) this.sendOp(op);
    this.redoStack.push(action);
    this.renderControls();
  }

  redo() {
    const action = this.redoStack.pop();
    if (!action) return;
    for (const op of action.doOps) this.sendOp(op);
    this.undoStack.push(action);
    this.renderControls();
  }

  addItem(item) {
    this.act([{ kind: 'add', item }], [{ kind: 'remove', ids: [item.id] }]);
  }

  erase(ids) {
    const now = this.visibleMap();
    const gone = [...ids].filter((id) => now.has(id));
    if (!gone.length) return;
    const doOps = [];
    for (let i = 0; i < gone.length; i += MAX_IDS) doOps.push({ kind: 'remove', ids: gone.slice(i, i + MAX_IDS) });
    // Put back as they were, in drawing order.
    this.act(doOps, gone.map((id) => ({ kind: 'add', item: now.get(id) })));
    for (const id of gone) this.selection.delete(id);
  }

  move(ids, dx, dy) {
    const list = [...ids].slice(0, MAX_IDS);
    if (!list.length || (dx === 0 && dy === 0)) return;
    this.act([{ kind: 'move', ids: list, dx, dy }], [{ kind: 'move', ids: list, dx: -dx, dy: -dy }]);
  }

  async clearBoard() {
    if (!this.current || !(await confirmDialog(t('board_clear_confirm'), t('board_clear')))) return;
    // Not undoable (it is everyone's drawing): this page's stack would only mislead.
    this.sendOp({ kind: 'clear' });
    this.undoStack = [];
    this.redoStack = [];
    this.renderControls();
  }

  // ------------------------------------------------------------ boards
  createBoard() {
    const name = t('board_default_name', { n: this.boards.length + 1 });
    this.o
      .request({ type: 'board_create', name })
      .then((answer) => {
        this.wanted = answer.board?.id || null;
        if (this.wanted && this.boards.some((b) => b.id === this.wanted)) this.onList(this.boards, false);
      })
      .catch((error) => this.o.onError(error));
  }

  startRename() {
    if (!this.current) return;
    const input = $('#board-name');
    input.value = this.current.name;
    input.hidden = false;
    this.select.hidden = true;
    input.focus();
    input.select();
  }

  finishRename(save) {
    const input = $('#board-name');
    if (input.hidden) return;
    input.hidden = true;
    this.select.hidden = false;
    const name = input.value.replace(/\s+/g, ' ').trim();
    if (!save || !this.current || !name || name === this.current.name) return;
    this.o.request({ type: 'board_rename', board_id: this.current.id, name }).catch((error) => this.o.onError(error));
  }

  async deleteBoard() {
    const board = this.current;
    if (!board || !(await confirmDialog(t('board_delete_confirm', { name: board.name }), t('board_delete')))) return;
    this.o.request({ type: 'board_delete', board_id: board.id }).catch((error) => this.o.onError(error));
  }

  // ------------------------------------------------------------ export
  exportName(ext) {
    const base = (this.current?.name || 'board').replace(/[^\p{L}\p{N} _-]+/gu, '').trim() || 'board';
    return `${base}.${ext}`;
  }

  svg() {
    return toSvg(this.visibleItems());
  }

  exportSvg() {
    download(this.exportName('svg'), new Blob([this.svg()], { type: 'image/svg+xml' }));
  }

  async exportPng() {
    const blob = await toPng(this.visibleItems());
    if (blob) download(this.exportName('png'), blob);
  }

  // ------------------------------------------------------------ view
  resize() {
    const surface = this.canvas.parentElement;
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(1, surface.clientWidth);
    const h = Math.max(1, surface.clientHeight);
    if (this.canvas.width !== Math.round(w * ratio) || this.canvas.height !== Math.round(h * ratio)) {
      this.canvas.width = Math.round(w * ratio);
      this.canvas.height = Math.round(h * ratio);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    this.render();
  }

  toBoard(event) {
    const r = this.canvas.getBoundingClientRect();
    return [(event.clientX - r.left - this.view.x) / this.view.scale, (event.clientY - r.top - this.view.y) / this.view.scale];
  }

  zoomAt(factor, cx, cy) {
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.view.scale * factor));
    const k = scale / this.view.scale;
    this.view = { scale, x: cx - (cx - this.view.x) * k, y: cy - (cy - this.view.y) * k };
    this.renderControls();
    this.render();
  }

  zoomCenter(factor) {
    const r = this.canvas.getBoundingClientRect();
    this.zoomAt(factor, r.width / 2, r.height / 2);
  }

  /** Show the whole drawing (or the origin at 100% when it is empty). */
  fit() {
    const b = unionBounds(this.visibleItems());
    const r = this.canvas.getBoundingClientRect();
    if (!b || r.width < 10 || r.height < 10) {
      this.view = { scale: 1, x: 0, y: 0 };
    } else {
      const scale = Math.min(1, Math.max(MIN_SCALE, Math.min((r.width - 40) / b.w, (r.height - 40) / b.h)));
      this.view = { scale, x: r.width / 2 - (b.x + b.w / 2) * scale, y: r.height / 2 - (b.y + b.h / 2) * scale };
    }
    this.renderControls();
    this.render();
  }

  render() {
    const ctx = this.ctx;
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    $('#board-empty').hidden = this.boards.length > 0 || !this.isOpen;
    if (!this.current) return;
    const { scale, x, y } = this.view;
    ctx.setTransform(scale * ratio, 0, 0, scale * ratio, x * ratio, y * ratio);
    const g = this.gesture;
    const hidden = g?.tool === 'eraser' ? g.hit : null;
    for (const item of this.visibleItems()) {
      if (hidden?.has(item.id)) continue;
      const moving = g?.tool === 'select' && g.moving && this.selection.has(item.id);
      drawItem(ctx, moving ? shifted(item, g.dx, g.dy) : item);
    }
    if (g?.preview) drawItem(ctx, g.preview);
    // the selection
    ctx.save();
    ctx.strokeStyle = '#2f81f7';
    ctx.lineWidth = 1 / scale;
    ctx.setLineDash([4 / scale, 4 / scale]);
    const now = this.visibleMap();
    for (const id of this.selection) {
      const item = now.get(id);
      if (!item) continue;
      const b = bounds(g?.tool === 'select' && g.moving ? shifted(item, g.dx, g.dy) : item);
      ctx.strokeRect(b.x - 3 / scale, b.y - 3 / scale, b.w + 6 / scale, b.h + 6 / scale);
    }
    if (g?.marquee) {
      const [x1, y1, x2, y2] = g.marquee;
      ctx.strokeRect(Math.min(x1, x2), Math.min(y1, y2), Math.abs(x2 - x1), Math.abs(y2 - y1));
    }
    ctx.restore();
  }

  renderControls() {
    const names = this.boards.map((b) => b.id).join();
    if (this.select.dataset.names !== names + this.boards.map((b) => b.name).join()) {
      this.select.dataset.names = names + this.boards.map((b) => b.name).join();
      this.select.replaceChildren(
        ...this.boards.map((b) => {
          const option = document.createElement('option');
          option.value = b.id;
          option.textContent = b.name;
          return option;
        }),
      );
    }
    if (this.current) this.select.value = this.current.id;
    const none = !this.current;
    for (const id of ['#board-rename', '#board-delete', '#board-clear', '#board-png', '#board-svg']) $(id).disabled = none;
    $('#board-undo').disabled = none || !this.undoStack.length;
    $('#board-redo').disabled = none || !this.redoStack.length;
    for (const button of this.root.querySelectorAll('[data-tool]')) {
      button.setAttribute('aria-pressed', String(button.dataset.tool === this.tool));
    }
    this.canvas.dataset.tool = this.tool;
    $('#board-zoom').textContent = `${Math.round(this.view.scale * 100)}%`;
    this.root.classList.toggle('in-meeting', this.o.inMeeting());
  }

  setTool(tool) {
    if (!TOOLS.includes(tool)) return;
    this.commitText();
    this.tool = tool;
    if (tool !== 'select') this.selection.clear();
    this.renderControls();
    this.render();
  }

  // ------------------------------------------------------------ tests
  testHooks() {
    return {
      snapshot: () => ({
        open: this.isOpen,
        boards: this.boards.map((b) => ({ ...b })),
        board: this.current ? { id: this.current.id, name: this.current.name, seq: this.current.seq } : null,
        items: this.current ? [...this.current.items.values()].map((item) => ({ ...item })) : [],
        pending: this.pending.size,
        undo: this.undoStack.length,
        redo: this.redoStack.length,
        view: { ...this.view },
      }),
      svg: () => this.svg(),
      open: (id) => this.openBoard(id),
      setTool: (tool) => this.setTool(tool),
      /** Board units -> page (client) coordinates, for driving the mouse. */
      toClient: (x, y) => {
        const r = this.canvas.getBoundingClientRect();
        return [r.left + this.view.x + x * this.view.scale, r.top + this.view.y + y * this.view.scale];
      },
    };
  }
}

Object.assign(Whiteboard.prototype, inputMethods);
