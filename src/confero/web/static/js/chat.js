// The room chat (F-EN8): it belongs to the room, so it works on the prejoin page, in the
// meeting and on the ended screen. One panel (#chat-panel) moves between the three views.
// Messages are kept by id and shown oldest first, whatever order a page arrives in.

import { $, el } from './dom.js';
import { formatTime, t } from './i18n.js';

export class Chat {
  /**
   * @param {object} options
   * @param {(message: object) => boolean} options.send a message without an answer
   * @param {(message: object) => Promise<object>} options.request one answered by `result`
   * @param {(error: object) => void} options.onError posting failed
   * @param {() => string} options.name the name a guest who has not joined posts under
   * @param {() => boolean} options.canPost false when a guest must first give a name
   * @param {() => void} options.onUnread a message arrived while the panel is hidden
   * @param {number} options.maxLength
   */
  constructor({ send, request, onError, name, canPost, onUnread, maxLength }) {
    this.send = send;
    this.request = request;
    this.onError = onError;
    this.name = name;
    this.canPost = canPost;
    this.onUnread = onUnread;
    this.maxLength = maxLength;
    this.messages = new Map(); // id -> message
    this.nextBefore = null;
    this.loadingOlder = false;
    this.panel = $('#chat-panel');
    this.list = $('#chat-messages');
    this.input = $('#chat-input');
    this.older = $('#chat-older');
    $('#chat-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.post();
    });
    this.older.addEventListener('click', () => this.loadOlder());
  }

  /** Put the panel into a view's slot (the element moves; ids stay unique). */
  moveTo(slot) {
    if (slot && this.panel.parentElement !== slot) {
      slot.append(this.panel);
      this.scrollToEnd();
    }
  }

  /** The `room` message's chat: the newest page; replaces what is shown. */
  reset(page) {
    this.messages.clear();
    this.list.replaceChildren();
    this.addPage(page);
  }

  /** A `chat_page` (older messages) or the first page. */
  addPage(page) {
    this.loadingOlder = false;
    const messages = page?.messages || [];
    const firstBefore = this.list.firstElementChild;
    const scroller = this.list;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    for (const message of messages) this.add(normalize(message), { scroll: false });
    this.nextBefore = page?.next_before ?? null;
    this.older.hidden = this.nextBefore === null;
    if (firstBefore) {
      // Older messages went on top: keep what the reader looked at in place.
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
    } else {
      this.scrollToEnd();
    }
    this.updateEmpty();
  }

  /** A `chat_posted` event. */
  posted(event) {
    const atEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    const added = this.add(normalize(event), { scroll: atEnd });
    if (added && (this.panel.offsetParent === null || !atEnd)) this.onUnread?.();
    this.updateEmpty();
  }

  /** `room_content_reset`: the room's chat history is gone (F-EN4). */
  cleared() {
    this.messages.clear();
    this.list.replaceChildren();
    this.nextBefore = null;
    this.older.hidden = true;
    this.updateEmpty();
  }

  add(message, { scroll }) {
    if (message.id === null || this.messages.has(message.id)) return false;
    this.messages.set(message.id, message);
    const item = el(
      'li',
      { class: 'chat-message', dataset: { id: String(message.id) } },
      el('span', { class: 'chat-author' }, message.author_name),
      // Posted by no account of the room (issue 14): anyone may type any name.
      message.guest ? el('span', { class: 'chat-guest' }, t('chat_guest')) : null,
      el('time', { class: 'chat-time', datetime: message.created_at }, formatTime(message.created_at)),
      el('p', { class: 'chat-text' }, message.text),
    );
    // Keep id order: find the first shown message with a larger id.
    let after = null;
    for (const node of this.list.children) {
      if (Number(node.dataset.id) > message.id) {
        after = node;
        break;
      }
    }
    this.list.insertBefore(item, after);
    if (scroll) this.scrollToEnd();
    return true;
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  updateEmpty() {
    $('#chat-empty').hidden = this.messages.size > 0;
  }

  loadOlder() {
    if (this.nextBefore === null || this.loadingOlder) return;
    this.loadingOlder = this.send({ type: 'chat_history', before: this.nextBefore });
  }

  post() {
    const text = this.input.value.trim();
    if (!text) return;
    if (!this.canPost()) return;
    if (text.length > this.maxLength) return;
    const message = { type: 'chat', text };
    const name = this.name();
    if (name) message.name = name;
    // Cleared at once so a fast typist can go on; given back if the server refuses.
    this.input.value = '';
    this.request(message).catch((error) => {
      if (!this.input.value) this.input.value = text;
      this.onError(error);
    });
    this.input.focus();
  }
}

/** A message from a page (`id`) or from the event (`message_id`) in one shape. */
function normalize(m) {
  const id = m.id ?? m.message_id;
  return {
    id: typeof id === 'number' ? id : Number.isFinite(Number(id)) ? Number(id) : null,
    author_name: m.author_name || '?',
    guest: m.guest === true,
    text: m.text || '',
    created_at: m.created_at || '',
  };
}
