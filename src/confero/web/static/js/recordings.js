// Recordings in the meeting (issue 12): the indicator everyone sees while the conference
// is recorded (#recording-indicator), the moderators' button (#record: the commands
// record_start / record_stop of the one contract), and the room's recordings
// (#recordings) with start time, length, size, a player, download and delete
// (moderators).
//
// Only a reader of the room sees its recordings: the REST API (web/api/recordings.py)
// takes the participant's resume token from the `welcome` (header X-Confero-Participant,
// and ?participant= for the player and the download link) besides a member's cookie.
// The state follows the conference: `welcome` carries it in its snapshot, then the
// events `recording_changed` and `recording_saved` (and `room_content_reset`).

import { toast } from './dialogs.js';
import { $, el, icon, label } from './dom.js';
import { errorKey, formatTime, t } from './i18n.js';
import { formatSize } from './files.js';

const HEADER = 'X-Confero-Participant';

/** Seconds as "m:ss" (or "h:mm:ss"). */
export function formatLength(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

function problemText(problem) {
  const key = errorKey({ code: problem?.code });
  if (key) return t(key, problem);
  return t('err_generic', { detail: problem?.detail || problem?.code || '?' });
}

export class Recordings {
  /**
   * @param {object} options
   * @param {() => string|null} options.roomId the room's id (from the `room` message)
   * @param {(name: string) => Promise<unknown>} options.command a conference command
   * @param {(text: string, ok: string) => Promise<boolean>} options.confirm
   */
  constructor({ roomId, command, confirm }) {
    this.roomId = roomId;
    this.command = command;
    this.confirm = confirm;
    this.token = null;
    this.running = false;
    this.canDelete = false;
    this.items = [];
    this.panel = $('#recordings-panel');
    this.list = $('#recordings');
    this.status = $('#recording-status');
    this.button = $('#record');
    this.button.addEventListener('click', () => this.toggle());
  }

  base() {
    return `/api/v1/rooms/${encodeURIComponent(this.roomId() || '')}/recordings`;
  }

  // ------------------------------------------------------------ meeting lifetime
  onMessage(message) {
    if (message?.type === 'welcome') {
      this.token = message.resume || null;
      this.setRunning(Boolean(message.state?.recording), false);
      this.refresh();
      return;
    }
    if (message?.type === 'left') {
      this.left();
      return;
    }
    if (message?.type !== 'event') return;
    switch (message.event) {
      case 'recording_changed':
        if (this.token) this.setRunning(Boolean(message.recording), true);
        break;
      case 'recording_saved':
        if (this.token) {
          toast(t('recording_saved_now'));
          this.refresh();
        }
        break;
      case 'conference_ended':
        this.setRunning(false, false);
        break;
      case 'room_content_reset':
        this.items = [];
        this.render();
        break;
      default:
    }
  }

  /** Out of the meeting: nothing of the room's recordings stays on the page. */
  left() {
    this.token = null;
    this.items = [];
    this.setRunning(false, false);
    this.render();
  }

  setRunning(on, announce) {
    const was = this.running;
    this.running = on;
    $('#recording-indicator').hidden = !on;
    this.button.setAttribute('aria-pressed', String(on));
    this.button.classList.toggle('recording-on', on);
    label(this.button, on ? t('record_stop') : t('record_start'));
    if (announce && was !== on) toast(on ? t('recording_started_now') : t('recording_stopped_now'));
  }

  async toggle() {
    this.showStatus('');
    this.button.disabled = true;
    try {
      await this.command(this.running ? 'record_stop' : 'record_start');
    } catch {
      // the session has shown the error (session.command)
    } finally {
      this.button.disabled = false;
    }
  }

  showStatus(text) {
    this.status.textContent = text || '';
    this.status.hidden = !text;
  }

  // ------------------------------------------------------------ the list
  async refresh() {
    if (!this.token || !this.roomId()) return;
    try {
      const response = await fetch(this.base(), {
        headers: { [HEADER]: this.token },
        credentials: 'same-origin',
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw body;
      this.items = body.recordings || [];
      this.canDelete = Boolean(body.can_delete);
      this.render();
    } catch (problem) {
      console.warn('confero: recordings', problem);
    }
  }

  url(r, download = false) {
    const query = new URLSearchParams();
    if (this.token) query.set('participant', this.token);
    if (download) query.set('download', '1');
    return `${this.base()}/${encodeURIComponent(r.id)}?${query}`;
  }

  render() {
    this.list.replaceChildren(...this.items.map((r) => this.item(r)));
    this.panel.hidden = this.items.length === 0;
  }

  item(r) {
    const time = formatTime(r.started_at);
    const parts = [time, formatLength(r.seconds), formatSize(r.size)];
    if (r.started_by) parts.push(t('recording_by', { name: r.started_by }));
    const meta = el('span', { class: 'recording-meta' }, parts.join(' · '));
    const player = el('audio', { controls: '', preload: 'none', src: this.url(r) });
    label(player, t('recording_indicator') + ' ' + time);
    const download = el(
      'a',
      { class: 'icon-button recording-download', href: this.url(r, true), download: '', rel: 'noopener noreferrer' },
      icon('download'),
    );
    label(download, t('recording_download', { time }));
    const li = el('li', { class: 'recording', dataset: { id: r.id } }, meta, player, download);
    if (this.canDelete) {
      const remove = el('button', { type: 'button', class: 'icon-button recording-delete' }, icon('trash'));
      label(remove, t('recording_delete', { time }));
      remove.addEventListener('click', () => this.remove(r, time));
      li.append(remove);
    }
    return li;
  }

  async remove(r, time) {
    const ok = await this.confirm(t('recording_delete_confirm', { time }), t('recording_delete_ok'));
    if (!ok) return;
    const response = await fetch(`${this.base()}/${encodeURIComponent(r.id)}`, {
      method: 'DELETE',
      headers: this.token ? { [HEADER]: this.token } : {},
      credentials: 'same-origin',
    });
    if (response.ok || response.status === 404) {
      this.items = this.items.filter((x) => x.id !== r.id);
      this.render();
      this.showStatus('');
    } else {
      this.showStatus(problemText(await response.json().catch(() => ({}))));
    }
  }
}
