// Shared files in the meeting (issue 12): the Files panel (#files-panel) with its list
// (#files), upload by button (#file-upload) or drag and drop with a progress bar
// (#file-progress), download links, and delete for the uploader and moderators.
//
// Only a reader of the room sees its files: the REST API (web/api/files.py) takes the
// participant's resume token from the `welcome` (header X-Confero-Participant, and
// ?participant= on a download link) besides a member's cookie. The list follows the
// room's `file_shared` / `file_deleted` / `room_content_reset` events.

import { toast } from './dialogs.js';
import { $, el, icon, label } from './dom.js';
import { errorKey, formatTime, language, t } from './i18n.js';

const HEADER = 'X-Confero-Participant';

/** A byte count as the page language writes it: "12 kB", "3.4 MB". */
export function formatSize(bytes) {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'];
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const format = new Intl.NumberFormat(language(), {
    style: 'unit',
    unit: units[unit],
    unitDisplay: 'short',
    maximumFractionDigits: unit === 0 ? 0 : 1,
  });
  return format.format(value);
}

/** The text of a problem+json answer (or a network failure) for the panel. */
function problemText(problem) {
  const key = errorKey({ code: problem?.code });
  if (key) return t(key, problem);
  return t('err_generic', { detail: problem?.detail || problem?.code || '?' });
}

export class Files {
  /**
   * @param {object} options
   * @param {() => string|null} options.roomId the room's id (from the `room` message)
   * @param {(text: string, ok: string) => Promise<boolean>} options.confirm
   * @param {(open: boolean) => void} options.showSidebar the panel lives in the sidebar
   */
  constructor({ roomId, confirm, showSidebar }) {
    this.roomId = roomId;
    this.confirm = confirm;
    this.showSidebar = showSidebar;
    /** The participant's resume token (`welcome`); null outside the meeting. */
    this.token = null;
    this.maxBytes = null;
    this.files = new Map(); // id -> file
    this.mine = new Set(); // ids this page uploaded (no "shared" notice for them)
    this.queue = Promise.resolve();
    this.panel = $('#files-panel');
    this.list = $('#files');
    this.input = $('#file-input');
    this.progress = $('#file-progress');
    this.status = $('#file-status');

    $('#files-toggle').addEventListener('click', () => this.setOpen(this.panel.hidden));
    $('#file-upload').addEventListener('click', () => this.input.click());
    this.input.addEventListener('change', () => {
      this.uploadAll(this.input.files);
      this.input.value = '';
    });
    // Drag and drop onto the panel, or anywhere in the meeting (the panel opens).
    const zone = $('#meeting');
    zone.addEventListener('dragover', (event) => {
      if (!this.token || !event.dataTransfer?.types?.includes('Files')) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      this.panel.classList.add('dragging');
    });
    zone.addEventListener('dragleave', (event) => {
      if (!zone.contains(event.relatedTarget)) this.panel.classList.remove('dragging');
    });
    zone.addEventListener('drop', (event) => {
      this.panel.classList.remove('dragging');
      if (!this.token || !event.dataTransfer?.files?.length) return;
      event.preventDefault();
      this.setOpen(true);
      this.uploadAll(event.dataTransfer.files);
    });
  }

  base() {
    return `/api/v1/rooms/${encodeURIComponent(this.roomId() || '')}/files`;
  }

  headers() {
    return this.token ? { [HEADER]: this.token } : {};
  }

  // ------------------------------------------------------------ meeting lifetime
  /** In the meeting with this token (`welcome`): the list loads. */
  entered(token) {
    this.token = token || null;
    this.refresh();
  }

  /** Out of the meeting: nothing of the room's files stays on the page. */
  left() {
    this.token = null;
    this.files.clear();
    this.render();
    this.setOpen(false);
  }

  setOpen(open) {
    this.panel.hidden = !open;
    $('#files-toggle').setAttribute('aria-pressed', String(open));
    $('#files-toggle').classList.toggle('active', open);
    if (open) {
      $('#files-unread').hidden = true;
      this.showSidebar(true);
    }
  }

  // ------------------------------------------------------------ the list
  async refresh() {
    if (!this.token || !this.roomId()) return;
    try {
      const response = await fetch(this.base(), { headers: this.headers(), credentials: 'same-origin' });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw body;
      this.maxBytes = body.max_upload_mb * 1024 * 1024;
      $('#files-limit').textContent = t('files_limit', { mb: body.max_upload_mb });
      this.files = new Map(body.files.map((f) => [f.id, f]));
      this.render();
    } catch (problem) {
      console.warn('confero: files', problem);
    }
  }

  render() {
    const items = [...this.files.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    this.list.replaceChildren(...items.map((f) => this.item(f)));
    $('#files-empty').hidden = items.length > 0;
  }

  downloadUrl(f) {
    const query = this.token ? `?participant=${encodeURIComponent(this.token)}` : '';
    return `${this.base()}/${encodeURIComponent(f.id)}${query}`;
  }

  item(f) {
    const link = el(
      'a',
      { class: 'file-name', href: this.downloadUrl(f), download: f.name, rel: 'noopener noreferrer' },
      icon('download'),
      ' ',
      f.name,
    );
    label(link, t('files_download', { name: f.name }));
    const meta = el(
      'span',
      { class: 'file-meta' },
      `${formatSize(f.size)} · ${f.uploader_name} · ${formatTime(f.created_at)}`,
    );
    const li = el('li', { class: 'file', dataset: { id: f.id } }, link, meta);
    if (f.deletable) {
      const remove = el('button', { type: 'button', class: 'icon-button file-delete' }, icon('trash'));
      label(remove, t('files_delete', { name: f.name }));
      remove.addEventListener('click', () => this.remove(f));
      li.append(remove);
    }
    return li;
  }

  // ------------------------------------------------------------ events
  /** A socket message; only the room's file events matter here. */
  onMessage(message) {
    if (message?.type === 'welcome') {
      this.entered(message.resume);
      return;
    }
    if (message?.type === 'left') {
      this.left();
      return;
    }
    if (message?.type !== 'event') return;
    if (message.event === 'file_shared' && message.file?.id) {
      const f = message.file;
      if (!this.token) return;
      if (!this.mine.has(f.id)) {
        if (this.panel.hidden) {
          $('#files-unread').hidden = false;
          toast(t('files_shared_now', { who: f.uploader_name, name: f.name }));
        }
      }
      this.refresh(); // the list says what this page may delete
    } else if (message.event === 'file_deleted') {
      this.files.delete(message.file_id);
      this.render();
    } else if (message.event === 'room_content_reset') {
      this.files.clear();
      this.render();
    }
  }

  // ------------------------------------------------------------ upload and delete
  uploadAll(fileList) {
    for (const file of Array.from(fileList || [])) {
      this.queue = this.queue.then(() => this.upload(file));
    }
  }

  showStatus(text) {
    this.status.textContent = text || '';
    this.status.hidden = !text;
  }

  async upload(file) {
    this.showStatus('');
    if (this.maxBytes && file.size > this.maxBytes) {
      // The server refuses it too; this spares sending it first.
      this.showStatus(problemText({ code: 'file.too_large', max_mb: Math.floor(this.maxBytes / 1048576) }));
      return;
    }
    $('#file-uploading').hidden = false;
    $('#file-uploading-name').textContent = t('files_uploading', { name: file.name });
    this.progress.value = 0;
    try {
      const shared = await this.send(file);
      this.mine.add(shared.id);
      this.files.set(shared.id, shared);
      this.render();
    } catch (problem) {
      this.showStatus(problemText(problem));
    } finally {
      $('#file-uploading').hidden = true;
    }
  }

  /** POST the file's bytes as the body, with upload progress. */
  send(file) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${this.base()}?name=${encodeURIComponent(file.name)}`);
      for (const [name, value] of Object.entries(this.headers())) xhr.setRequestHeader(name, value);
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) this.progress.value = Math.round((100 * event.loaded) / event.total);
      });
      xhr.addEventListener('load', () => {
        let body = {};
        try {
          body = JSON.parse(xhr.responseText || '{}');
        } catch {
          body = { code: `http.${xhr.status}` };
        }
        if (xhr.status === 201) {
          this.progress.value = 100;
          resolve(body);
        } else {
          reject(body);
        }
      });
      xhr.addEventListener('error', () => reject({ code: 'connection.closed' }));
      xhr.addEventListener('abort', () => reject({ code: 'connection.closed' }));
      xhr.send(file);
    });
  }

  async remove(f) {
    const ok = await this.confirm(t('files_delete_confirm', { name: f.name }), t('files_delete_ok'));
    if (!ok) return;
    const response = await fetch(`${this.base()}/${encodeURIComponent(f.id)}`, {
      method: 'DELETE',
      headers: this.headers(),
      credentials: 'same-origin',
    });
    if (response.ok || response.status === 404) {
      this.files.delete(f.id);
      this.render();
      this.showStatus('');
    } else {
      this.showStatus(problemText(await response.json().catch(() => ({}))));
    }
  }
}
