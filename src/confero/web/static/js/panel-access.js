// A room's access data as the panel shows it (F-RS8): dial-in number, conference
// number, PIN, admin PIN (only when the API gives it) and the invite link, each with a
// copy button.

import { el } from './dom.js';
import { t } from './i18n.js';
import { copyButton } from './panel-copy.js';

const FIELDS = [
  ['dial_in_number', 'panel_dial_in'],
  ['conference_number', 'panel_conference_number'],
  ['pin', 'panel_pin'],
  ['admin_pin', 'panel_admin_pin'],
  ['invite_url', 'panel_invite_link'],
];

/** Fill `dl` with one row per access datum the room carries. */
export function accessList(room, dl = el('dl', { class: 'access' })) {
  dl.replaceChildren();
  for (const [field, key] of FIELDS) {
    const value = room[field];
    if (value === undefined || value === null || value === '') continue;
    const name = t(key);
    dl.append(
      el(
        'div',
        { class: 'access-row', dataset: { field } },
        el('dt', {}, name),
        el('dd', {}, el('span', { class: 'access-value' }, value), copyButton(value, name)),
      ),
    );
  }
  return dl;
}

/** The invite link as a path on this site (the configured base URL may differ). */
export function invitePath(room) {
  try {
    return new URL(room.invite_url, location.href).pathname;
  } catch {
    return room.invite_url;
  }
}
