// Video tiles (F-WB2): one tile per participant (`.tile[data-id=<participant id>]`, the
// own tile has class `self`), plus one tile per received screen share
// (`.tile.screen[data-id="screen:<participant id>"]`). Tile view is a grid; speaker view
// puts one tile on stage (a screen share, else a pinned tile, else who spoke last).
// Video elements are never moved in the DOM (that would pause them): CSS does the layout.

import { $, el, icon, initials, label } from './dom.js';
import { t } from './i18n.js';
import { on, state } from './state.js';

export class Tiles {
  /**
   * @param {object} sources
   * @param {() => MediaStreamTrack|null} sources.localCamera
   * @param {(id: string, kind: string) => MediaStream|null} sources.remote
   * @param {() => HTMLElement|null} [sources.board] the open whiteboard (issue 12)
   */
  constructor(sources) {
    this.sources = sources;
    this.root = $('#tiles');
    this.pinned = null;
    this.localStream = null;
    this.root.addEventListener('click', (event) => {
      const tile = event.target.closest('.tile');
      // Drawing on the whiteboard tile is no click on the tile (it pins with its button).
      if (!tile || event.target.closest('.board')) return;
      this.pinned = this.pinned === tile.dataset.id ? null : tile.dataset.id;
      this.layout();
    });
    for (const topic of ['participants', 'me', 'streams', 'local', 'view', 'board']) on(topic, () => this.render());
    on('talking', () => this.renderTalking());
  }

  render() {
    if (state.view !== 'meeting') {
      this.clear();
      return;
    }
    const seen = new Set();
    for (const p of state.participants.values()) {
      seen.add(p.id);
      const tile = this.tile(p.id, () => this.buildPerson(p));
      this.updatePerson(tile, p);
      this.setVideo(tile, this.videoFor(p.id), p.id === state.me?.id);
      const screen = p.id === state.me?.id ? null : this.sources.remote(p.id, 'screen');
      const screenId = `screen:${p.id}`;
      if (screen) {
        seen.add(screenId);
        const screenTile = this.tile(screenId, () => this.buildScreen(p));
        screenTile.querySelector('.name').textContent = t('screen_of', { name: p.display_name });
        this.setVideo(screenTile, screen, false);
      }
    }
    const board = this.sources.board?.();
    if (board) {
      seen.add('board');
      const tile = this.tile('board', () => el('div', { class: 'tile board-tile', dataset: { id: 'board' } }));
      if (board.parentElement !== tile) tile.append(board);
    }
    for (const tile of [...this.root.children]) if (!seen.has(tile.dataset.id)) tile.remove();
    this.renderTalking();
    this.layout();
  }

  /** Put a tile on stage in speaker view (the whiteboard's "show on stage"). */
  pin(id) {
    this.pinned = id;
    this.layout();
  }

  clear() {
    this.root.replaceChildren();
    this.localStream = null;
    this.pinned = null;
  }

  tile(id, build) {
    let tile = this.root.querySelector(`.tile[data-id="${CSS.escape(id)}"]`);
    if (!tile) {
      tile = build();
      this.root.append(tile);
    }
    return tile;
  }

  buildPerson(p) {
    return el(
      'div',
      { class: 'tile', dataset: { id: p.id, channel: p.channel || 'browser' } },
      el('div', { class: 'avatar large', 'aria-hidden': 'true' }),
      el(
        'div',
        { class: 'nameplate' },
        el('span', { class: 'state-icon muted-icon' }, icon('mic-off')),
        el('span', { class: 'state-icon hand-icon' }, icon('hand')),
        el('span', { class: 'name' }),
      ),
    );
  }

  buildScreen(p) {
    return el(
      'div',
      { class: 'tile screen', dataset: { id: `screen:${p.id}`, participant: p.id } },
      el('div', { class: 'nameplate' }, el('span', { class: 'state-icon' }, icon('screen')), el('span', { class: 'name' })),
    );
  }

  updatePerson(tile, p) {
    const mine = p.id === state.me?.id;
    tile.classList.toggle('self', mine);
    tile.classList.toggle('muted', Boolean(p.muted));
    tile.classList.toggle('hand', Boolean(p.hand_raised));
    tile.classList.toggle('moderator', p.role === 'moderator');
    tile.dataset.channel = p.channel || 'browser';
    tile.querySelector('.avatar').replaceChildren(p.channel === 'phone' ? icon('phone') : initials(p.display_name));
    tile.querySelector('.name').textContent = mine ? t('you', { name: p.display_name }) : p.display_name;
    label(tile, mine ? t('you', { name: p.display_name }) : p.display_name);
    tile.setAttribute('role', 'group');
  }

  /** The camera video of a participant: our own track, or the subscribed stream. */
  videoFor(id) {
    if (id !== state.me?.id) return this.sources.remote(id, 'camera');
    const track = this.sources.localCamera();
    if (!track) {
      this.localStream = null;
      return null;
    }
    if (!this.localStream || this.localStream.getVideoTracks()[0] !== track) {
      this.localStream = new MediaStream([track]);
    }
    return this.localStream;
  }

  setVideo(tile, stream, mirror) {
    let video = tile.querySelector('video');
    if (!stream) {
      if (video) {
        video.srcObject = null;
        video.remove();
      }
      tile.classList.remove('has-video');
      return;
    }
    if (!video) {
      // Muted: all sound comes as the room's one mixed track (#room-audio).
      video = el('video', { autoplay: true, playsinline: true, muted: true });
      video.muted = true;
      tile.prepend(video);
    }
    video.classList.toggle('mirror', mirror);
    if (video.srcObject !== stream) {
      video.srcObject = stream;
      video.play().catch(() => {});
    }
    tile.classList.add('has-video');
  }

  renderTalking() {
    for (const tile of this.root.children) {
      tile.classList.toggle('talking', state.talking.has(tile.dataset.id));
    }
    if (state.speakerView) this.layout();
  }

  /** Grid size for tile view; the stage tile for speaker view. */
  layout() {
    const tiles = [...this.root.children];
    const count = Math.max(1, tiles.length);
    const cols = Math.ceil(Math.sqrt(count));
    this.root.style.setProperty('--cols', String(cols));
    this.root.style.setProperty('--rows', String(Math.ceil(count / cols)));
    this.root.classList.toggle('speaker-view', state.speakerView);
    this.root.classList.toggle('tile-view', !state.speakerView);
    const stage = state.speakerView ? this.stageId(tiles) : null;
    for (const tile of tiles) {
      tile.classList.toggle('stage', tile.dataset.id === stage);
      tile.classList.toggle('pinned', tile.dataset.id === this.pinned);
    }
  }

  stageId(tiles) {
    const ids = tiles.map((tile) => tile.dataset.id);
    if (this.pinned && ids.includes(this.pinned)) return this.pinned;
    const screen = ids.filter((id) => id.startsWith('screen:')).pop();
    if (screen) return screen;
    if (state.dominant && ids.includes(state.dominant)) return state.dominant;
    return ids.find((id) => id !== state.me?.id) || ids[0] || null;
  }
}
